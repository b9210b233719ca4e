import json

import pytest

from mmdemo.data.caption_annotations import (
    CaptionClip,
    read_msrvtt,
    read_msrvtt_csv,
    read_youcook2,
)
from mmdemo.errors import InputError

YOUCOOK2 = {"database": {
    "GLd3aX16zBg": {"subset": "training", "duration": 241.62, "recipe_type": "113", "annotations": [
        {"segment": [90, 102], "id": 0, "sentence": "spread margarine on two slices of white bread"},
        {"segment": [114, 127], "id": 1, "sentence": "place a slice of cheese on the bread"}]},
    "xHr8X2Wpmno": {"subset": "validation", "duration": 300.0, "annotations": [
        {"segment": [12.5, 30], "id": 0, "sentence": " add oil to a pan "}]},
    "testvideo01": {"subset": "testing", "duration": 100.0},
}}

MSRVTT = {
    "info": {"year": 2016},
    "videos": [
        {"category": 9, "url": "https://www.youtube.com/watch?v=9lZi22qLlEo", "video_id": "video0",
         "start time": 137.72, "end time": 149.44, "split": "train", "id": 0},
        {"category": 16, "url": "https://www.youtube.com/watch?v=w4JM08PDEng", "video_id": "video1",
         "start time": 184.33, "end time": 206.89, "split": "validate", "id": 1},
    ],
    "sentences": [
        {"caption": "a car is shown", "video_id": "video0", "sen_id": 0},
        {"caption": "a man talks about cars", "video_id": "video1", "sen_id": 1},
        {"caption": "a red car drives by", "video_id": "video0", "sen_id": 2},
    ],
}


def write_json(tmp_path, data, name="annotations.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_youcook2_gives_one_clip_per_segment(tmp_path):
    clips = read_youcook2(write_json(tmp_path, YOUCOOK2))
    assert clips == [
        CaptionClip("GLd3aX16zBg", 90.0, 102.0, ("spread margarine on two slices of white bread",), "train"),
        CaptionClip("GLd3aX16zBg", 114.0, 127.0, ("place a slice of cheese on the bread",), "train"),
        CaptionClip("xHr8X2Wpmno", 12.5, 30.0, ("add oil to a pan",), "val"),
    ]
    assert [c.start for c in read_youcook2(write_json(tmp_path, YOUCOOK2), splits=["validation"])] == [12.5]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("database"), "no 'database'"),
    (lambda d: d["database"]["GLd3aX16zBg"]["annotations"][0].update(segment=[102, 90]), "start <= end"),
    (lambda d: d["database"]["GLd3aX16zBg"]["annotations"][1].update(sentence=""), "annotation 1"),
    (lambda d: d["database"]["xHr8X2Wpmno"].update(subset="dev"), "unknown split 'dev'"),
])
def test_youcook2_errors_name_the_entry(tmp_path, change, message):
    data = json.loads(json.dumps(YOUCOOK2))
    change(data)
    with pytest.raises(InputError, match=message):
        read_youcook2(write_json(tmp_path, data))


def test_invalid_json_is_reported(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"database": ', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        read_youcook2(path)


def test_msrvtt_json_groups_captions_per_video(tmp_path):
    clips = read_msrvtt(write_json(tmp_path, MSRVTT))
    assert [c.video_id for c in clips] == ["video0", "video1"]
    assert clips[0].captions == ("a car is shown", "a red car drives by")
    assert clips[0].start == 0.0 and clips[0].end == pytest.approx(149.44 - 137.72)
    assert (clips[1].split, clips[1].captions) == ("val", ("a man talks about cars",))
    assert [c.video_id for c in read_msrvtt(write_json(tmp_path, MSRVTT), splits=["train"])] == ["video0"]


def test_msrvtt_json_errors(tmp_path):
    data = json.loads(json.dumps(MSRVTT))
    data["sentences"].append({"caption": "ghost", "video_id": "video9"})
    with pytest.raises(InputError, match="video9"):
        read_msrvtt(write_json(tmp_path, data))
    with pytest.raises(InputError, match="'videos' and 'sentences'"):
        read_msrvtt(write_json(tmp_path, {"videos": []}))
    with pytest.raises(InputError, match="unknown split"):
        read_msrvtt(write_json(tmp_path, MSRVTT), splits=["holdout"])


def test_msrvtt_csv(tmp_path):
    path = tmp_path / "MSRVTT_JSFUSION_test.csv"
    path.write_text("key,vid_key,video_id,sentence\n"
                    "ret0,msr7579,video7579,a girl wearing red top and black trouser is putting a sweater on a dog\n"
                    'ret1,msr7725,video7725,"young people sit around the edges of a room, clapping"\n'
                    "ret2,msr7579,video7579,a dog gets dressed\n", encoding="utf-8")
    clips = read_msrvtt_csv(path)
    assert [(c.video_id, len(c.captions), c.split, c.start, c.end) for c in clips] == [
        ("video7579", 2, "test", 0.0, None), ("video7725", 1, "test", 0.0, None)]
    assert clips[1].captions == ("young people sit around the edges of a room, clapping",)

    path.write_text("key,vid_key,video,caption\nret0,msr1,video1,a dog\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column.*sentence, video_id"):
        read_msrvtt_csv(path)
    path.write_text("key,vid_key,video_id,sentence\nret0,msr1,video1,\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_msrvtt_csv(path)
