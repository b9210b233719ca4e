import numpy as np

from mmdemo.media.subtitles import Caption
from mmdemo.retrieval.corpus import Window, caption_windows, spread_to_captions


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
