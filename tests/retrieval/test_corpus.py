import json

import numpy as np
import pytest

from mmdemo.errors import InputError
from mmdemo.media.subtitles import Caption
from mmdemo.retrieval.corpus import Window, caption_windows, load_medvidqa_corpus, spread_to_captions


def test_windows_step_by_half_and_cover_every_caption():
    caps = [Caption(i * 5.0, i * 5.0 + 5.0, f"c{i}") for i in range(10)]  # 0..50 s
    windows = caption_windows(caps, 20.0)
    assert windows[0] == (0, 3)  # midpoints 2.5..17.5 fall in [0, 20)
    assert windows[1] == (2, 5)  # [10, 30)
    covered = set()
    for first, last in windows:
        covered.update(range(first, last + 1))
    assert covered == set(range(10))


def test_spread_to_captions_averages_covering_windows():
    windows = [Window(0, 0, 1, ""), Window(0, 1, 2, "")]
    np.testing.assert_allclose(spread_to_captions(windows, np.array([1.0, 3.0]), 3), [1.0, 2.0, 3.0])


def test_load_medvidqa_corpus(tmp_path):
    rows = [{"start": 0.0, "duration": 3.0, "text": "hello"}, {"start": 2.0, "duration": 3.0, "text": "world"}]
    (tmp_path / "vidA.json").write_text(json.dumps(rows))
    (tmp_path / "empty.json").write_text("[]")
    videos = load_medvidqa_corpus([tmp_path])
    assert [v.video_id for v in videos] == ["vidA"]
    caps = videos[0].captions
    assert caps[0].end <= caps[1].start  # overlapping YouTube lines become disjoint
    assert videos[0].duration == pytest.approx(5.0)


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        load_medvidqa_corpus([tmp_path / "nope"])
    with pytest.raises(InputError):
        load_medvidqa_corpus([tmp_path])  # no caption files
