import pytest

from mmdemo.config import set_offline_environment
from mmdemo.media.subtitles import Caption
from mmdemo.retrieval.corpus import Video

set_offline_environment()

TOPICS = {
    "cpr": "place your hands on the center of the chest and push hard and fast for chest compressions",
    "burn": "cool the burn under cold running water for twenty minutes then cover it loosely with cling film",
    "knee": "lie on your back and slowly bend your knee sliding the heel toward you to stretch the knee",
}


def make_video(video_id: str, lines: list[str], step: float = 5.0) -> Video:
    return Video(video_id, tuple(Caption(i * step, (i + 1) * step, t) for i, t in enumerate(lines)))


@pytest.fixture
def tiny_corpus() -> list[Video]:
    """Three videos, each about one topic, with filler talk around it."""
    filler = ["hello and welcome to the channel", "please like and subscribe", "thanks for watching"]
    return [make_video(vid, filler + [text] * 4 + filler) for vid, text in TOPICS.items()]


@pytest.fixture(scope="session")
def minilm():
    from mmdemo.models.encoders import TextEncoder

    return TextEncoder.from_config()
