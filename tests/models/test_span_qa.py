"""The span QA reader: decoding on hand cases, transcripts, windows over long contexts, exports."""

from __future__ import annotations

import pytest
import torch

from mmdemo.checkpoint import CheckpointError, save_checkpoint
from mmdemo.errors import InputError
from mmdemo.models.factory import CCGS_FAMILY, SPAN_QA, load_model
from mmdemo.models.span_qa import SpanQA, SpanQAConfig, Transcript, best_spans, snap_to_words

NEG = -100.0


def spans(start, end, context, max_tokens=30, k=1):
    return best_spans(torch.tensor(start), torch.tensor(end), torch.tensor(context), max_tokens, k)


# ------------------------------------------------------------------ decoding by hand


def test_best_span_is_the_best_start_end_sum_inside_the_context():
    # [CLS] has the largest logits but is no context token; the best context span is 2..3 (5 + 4)
    assert spans([9.0, 1.0, 5.0, 0.0], [9.0, 0.0, 1.0, 4.0], [False, True, True, True]) == [(2, 3, 9.0)]


def test_a_span_never_ends_before_it_starts():
    # the best start (3) is after the best end (1): the best valid pair is 1..1 (2 + 6) or 3..3 (7 + 0)
    assert spans([0.0, 2.0, 0.0, 7.0], [0.0, 6.0, 0.0, 0.0], [False, True, True, True]) == [(1, 1, 8.0)]


def test_spans_longer_than_the_maximum_are_never_chosen():
    start, end, context = [NEG, 5.0, 1.0, 0.0], [NEG, 0.5, 0.0, 5.0], [False, True, True, True]
    assert spans(start, end, context, max_tokens=3) == [(1, 3, 10.0)]  # three tokens: allowed
    assert spans(start, end, context, max_tokens=2) == [(2, 3, 6.0)]  # 1..3 is too long
    assert spans(start, end, context, max_tokens=1, k=10) == [(1, 1, 5.5), (3, 3, 5.0), (2, 2, 1.0)]


def test_top_k_is_sorted_and_limited_to_the_valid_spans():
    found = spans([NEG, 1.0, 2.0], [NEG, 3.0, 1.0], [False, True, True], k=10)
    assert found == [(1, 1, 4.0), (2, 2, 3.0), (1, 2, 2.0)]  # 2..1 is invalid: three valid spans only


# ------------------------------------------------------------------ whole words, no edge punctuation

TEXT = "It lasts 30 seconds. Then, press (hard) again."


@pytest.mark.parametrize("start, end, snapped", [
    (12, 16, "seconds"),  # "seco": a word piece takes its whole word
    (10, 13, "30 seconds"),  # "0 s"
    (19, 27, "Then"),  # ". Then, ": what the bundled MedVidQA reader used to return
    (9, 20, "30 seconds."),  # a closing full stop stays
    (28, 34, "press"),  # "ress (": the opening bracket goes
    (33, 40, "(hard)"),
])
def test_spans_snap_to_whole_words_without_edge_punctuation(start, end, snapped):
    a, b = snap_to_words(TEXT, start, end)
    assert TEXT[a:b] == snapped


def test_a_span_of_punctuation_only_snaps_to_nothing():
    assert snap_to_words(TEXT, 19, 21) == (21, 21)


# ------------------------------------------------------------------ transcripts


def test_transcript_maps_characters_to_the_sentences_they_touch():
    transcript = Transcript.join(["sit tall", "tuck your chin", "hold it"])
    assert transcript.text == "sit tall tuck your chin hold it"
    assert transcript.offsets == ((0, 8), (9, 23), (24, 31))
    assert transcript.sentences_in(9, 13) == (1, 1)  # "tuck"
    assert transcript.sentences_in(4, 13) == (0, 1)  # "tall tuck"
    assert transcript.sentences_in(19, 31) == (1, 2)
    assert transcript.char_span(1, 2) == (9, 31)
    with pytest.raises(ValueError):
        transcript.sentences_in(8, 9)  # only the space between two sentences


# ------------------------------------------------------------------ the model


@pytest.fixture(scope="module")
def small() -> SpanQA:
    """Pretrained MiniLM's first layer, short windows, so one paragraph needs several of them."""
    return SpanQA.from_config(SpanQAConfig(encoder_layers=1, train_layers=0, max_length=48, doc_stride=16,
                                           max_answer_tokens=8), pretrained=True).eval()


CONTEXT = " ".join(f"Step {i}: move the {part} slowly and hold it for {i} seconds." for i, part in
                   enumerate(["neck", "knee", "ankle", "wrist", "hip", "calf", "elbow", "shoulder"]))


def test_windows_cover_the_whole_context(small):
    windows = small.tokenize(["How long do I hold the hip?"], [CONTEXT])
    assert len(windows.example) > 3  # the context does not fit one window
    covered = set()
    for w in range(len(windows.example)):
        for a, b in windows.offsets[w][windows.context[w]].tolist():
            covered.update(range(a, b))
    assert covered == {i for i, ch in enumerate(CONTEXT) if not ch.isspace()}  # nothing truncated


def test_answers_are_distinct_character_spans_of_the_context(small):
    answers = small.answer("How long do I hold the hip?", CONTEXT, top_k=5)
    assert len(answers) == 5
    assert len({(a.start, a.end) for a in answers}) == 5
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)
    for a in answers:
        assert CONTEXT[a.start : a.end] == a.text and a.text.strip()
        assert a.text[0].isalnum() and a.text[-1] not in ",;: "  # whole words, never ". hold" or "hold,"
        assert a.start == 0 or not CONTEXT[a.start - 1].isalnum()
        assert a.end == len(CONTEXT) or not CONTEXT[a.end].isalnum()



def test_no_answer_competes_once_with_the_lowest_cls_score_of_the_windows(small):
    question = "How long do I hold the hip?"
    everything = small.answer(question, CONTEXT, top_k=10**6, allow_null=True)
    nulls = [a for a in everything if a.text == ""]
    assert len(nulls) == 1 and len(everything) > 1
    windows = small.tokenize([question], [CONTEXT])
    with torch.no_grad():
        out = small(windows.input_ids, windows.attention_mask, windows.token_type_ids)
    assert nulls[0].score == pytest.approx(float((out.start_logits[:, 0] + out.end_logits[:, 0]).min()))
    assert "" not in {a.text for a in small.answer(question, CONTEXT, top_k=10**6)}


def test_answer_sentences_name_the_sentences_of_the_span(small):
    sentences = ["hello and welcome", "hold the stretch for thirty seconds", "thanks for watching"]
    for span in small.answer_sentences("How long do I hold the stretch?", sentences, top_k=3):
        assert 0 <= span.first <= span.last < 3
        assert span.text in " ".join(sentences[span.first : span.last + 1])


@pytest.mark.parametrize("question, context, message", [
    ("  ", CONTEXT, "question is empty"),
    ("How long?", " \n", "no text"),
    ("why " * 60, CONTEXT, "too long for the reader"),
])
def test_bad_input_is_refused_with_a_message(small, question, context, message):
    with pytest.raises(InputError, match=message):
        small.answer(question, context)


def test_random_weights_train_and_export_the_whole_encoder():
    model = SpanQA.from_config(SpanQAConfig(encoder_layers=1, train_layers=1), pretrained=False)
    assert model.config.train_layers == -1
    assert all(p.requires_grad for p in model.parameters())
    assert set(model.trained_state_dict()) == set(model.state_dict())


def test_partial_export_holds_only_what_was_trained_and_reloads(small, tmp_path):
    with torch.no_grad():
        small.qa_head.weight.normal_()
    exported = small.trained_state_dict()
    assert set(exported) == {"qa_head.weight", "qa_head.bias"}  # train_layers=0: the frozen encoder stays out
    save_checkpoint(tmp_path / "reader", exported, family=SPAN_QA, config=small.config, meta={"task": "extractive-qa"})
    loaded = load_model(tmp_path / "reader", SPAN_QA)
    question = "How long do I hold the hip?"
    assert loaded.answer(question, CONTEXT, top_k=3) == small.answer(question, CONTEXT, top_k=3)


def test_scratch_export_reloads_without_pretrained_weights(tmp_path):
    torch.manual_seed(0)
    model = SpanQA.from_config(SpanQAConfig(encoder_layers=1, max_length=48, doc_stride=16), pretrained=False).eval()
    save_checkpoint(tmp_path / "reader", model.trained_state_dict(), family=SPAN_QA, config=model.config, meta={})
    loaded = load_model(tmp_path / "reader", SPAN_QA)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_an_export_of_another_family_is_refused(small, tmp_path):
    save_checkpoint(tmp_path / "other", small.trained_state_dict(), family=CCGS_FAMILY, config=small.config, meta={})
    with pytest.raises(CheckpointError, match="not a span QA reader"):
        load_model(tmp_path / "other", SPAN_QA)
