import numpy as np
import pytest

from mmdemo.errors import InputError
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig
from mmdemo.retrieval.corpus_index import Candidate, CorpusIndex, RetrievalConfig

QUESTIONS = {"cpr": "how to do chest compressions", "burn": "how to treat a burn with cold water", "knee": "knee stretch exercise"}


def test_bm25_ranks_the_right_video_first(tiny_corpus):
    index = CorpusIndex.build(tiny_corpus)
    for vid, question in QUESTIONS.items():
        ranked = index.rank_videos(question, "bm25")
        assert ranked[0][0] == vid
        assert len(ranked) == 3 and ranked[0][1] >= ranked[1][1] >= ranked[2][1]
    assert len(index.rank_videos("knee", "bm25", k=2)) == 2


def test_locate_finds_the_topic_lines(tiny_corpus):
    # captions 3..6 (15..35 s) of every video hold the topic
    index = CorpusIndex.build(tiny_corpus, config=RetrievalConfig(window_seconds=10.0))
    cands = index.locate(QUESTIONS["burn"], "bm25", top_videos=3, top_spans=2)
    assert isinstance(cands[0], Candidate) and cands[0].video_id == "burn"
    assert cands[0].start >= 10.0 and cands[0].end <= 40.0
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    assert len(cands) == 6


def test_timeline_has_one_score_per_caption(tiny_corpus):
    index = CorpusIndex.build(tiny_corpus, config=RetrievalConfig(window_seconds=10.0))
    timeline = index.timeline(QUESTIONS["knee"], "knee", "bm25")
    assert len(timeline.times) == len(timeline.scores) == len(tiny_corpus[2].captions)
    assert int(np.argmax(timeline.scores)) in range(3, 7)


def test_bad_requests_are_input_errors(tiny_corpus):
    index = CorpusIndex.build(tiny_corpus)
    with pytest.raises(InputError):
        index.rank_videos("cpr", "dense")  # built without an encoder
    with pytest.raises(InputError):
        index.rank_videos("cpr", "magic")
    with pytest.raises(InputError):
        index.rank_videos("   ", "bm25")
    with pytest.raises(InputError):
        index.timeline("cpr", "missing-video", "bm25")
    with pytest.raises(InputError):
        CorpusIndex.build([])


@pytest.mark.slow
def test_dense_and_hybrid_run_with_random_weights(tiny_corpus):
    encoder = TextEncoder.from_config(TextEncoderConfig(), pretrained=False)
    index = CorpusIndex.build(tiny_corpus, encoder)
    for method in ("dense", "hybrid"):
        assert len(index.rank_videos("cpr", method)) == 3
        assert index.locate("cpr", method, top_videos=2, top_spans=1)


@pytest.mark.slow
def test_dense_and_hybrid_with_minilm_find_paraphrased_topics(tiny_corpus, minilm):
    index = CorpusIndex.build(tiny_corpus, minilm)
    paraphrases = {"cpr": "resuscitation pushing on the sternum", "burn": "scald first aid", "knee": "leg flexibility exercise"}
    for vid, question in paraphrases.items():
        assert index.rank_videos(question, "dense")[0][0] == vid
        assert index.rank_videos(question, "hybrid")[0][0] == vid
