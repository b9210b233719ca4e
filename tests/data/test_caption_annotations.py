import json

import pytest

from mmdemo.data.caption_annotations import read_msrvtt, read_transcripts
from mmdemo.errors import InputError

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


def test_invalid_json_is_reported(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"videos": ', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        read_msrvtt(path)


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


def test_transcripts_join_each_clip_in_time_order(tmp_path):
    path = write_json(tmp_path, {"video0": [{"start": 4.0, "end": 6.0, "text": "then stir"},
                                            {"start": 0.0, "end": 3.5, "text": "boil the water"}],
                                 "video1": []}, name="transcripts.json")
    assert read_transcripts(path) == {"video0": "boil the water then stir", "video1": ""}
