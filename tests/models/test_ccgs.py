"""CCGS: global-span matrix, losses (eq. 9-12), fusion, packing of long subtitles, decoding.

A tiny random BERT (built here) stands in for the PLM, with the bundled MiniLM tokenizer, so
every test is fast and offline.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmdemo.models.ccgs import (
    CCGS,
    NEG,
    CCGSConfig,
    VideoInput,
    ccgs_loss,
    contrastive_span_loss,
    pack_windows,
    rank_spans,
    rotary,
    span_loss,
    span_to_time,
    top_spans,
    video_scores,
)
from mmdemo.models.encoders import resolve_model_path

VISUAL_DIM = 8


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_path("minilm"))


def tiny_model(tokenizer, **overrides) -> CCGS:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    plm = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64, max_position_embeddings=64))
    fields = dict(hidden=16, visual_dim=VISUAL_DIM, max_len=64, window_overlap=2)
    fields.update(overrides)
    return CCGS(CCGSConfig(**fields), plm, tokenizer)


def video(n: int, visual_frames: int | None = None, words: str = "wash your hands with soap", seed: int = 0) -> VideoInput:
    sentences = [f"step {i} {words}" for i in range(n)]
    times = [(5.0 * i, 5.0 * i + 4.5) for i in range(n)]
    visual = None
    if visual_frames:
        visual = np.random.default_rng(seed).normal(size=(visual_frames, VISUAL_DIM)).astype(np.float32)
    return VideoInput(sentences, times, visual=visual, video_id=f"v{n}")


def test_global_span_matrix_shape_and_masking(tokenizer):
    model = tiny_model(tokenizer).eval()
    out = model(model.prepare(["how do I wash my hands?"], [[video(3), video(5)]]))
    assert out.logits.shape == (1, 2, 5, 5)
    assert out.num_sentences.tolist() == [[3, 5]]
    for g, r in enumerate([3, 5]):
        m = out.logits[0, g]
        valid = torch.zeros(5, 5, dtype=torch.bool)
        valid[:r, :r] = torch.ones(r, r, dtype=torch.bool).triu()
        assert torch.all(m[~valid] == NEG)  # end before start, and padded sentences
        assert torch.all(m[valid] > NEG / 2)
        s, e = divmod(int(m.flatten().argmax()), 5)
        assert s <= e < r
    # Even where an invalid or padded span has the largest raw score, it never wins after masking.
    head, torch_gen = model.span_head, torch.Generator().manual_seed(0)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    raw_wins_invalid = 0
    for _ in range(50):
        feats = torch.randn(1, 6, 16, generator=torch_gen)
        x, y = head.es_layer(feats).chunk(2, dim=-1)
        raw = rotary(y, head.rope_base) @ rotary(x, head.rope_base).transpose(1, 2)
        s, e = divmod(int(raw.flatten().argmax()), 6)
        raw_wins_invalid += not (s <= e < 4)
        s, e = divmod(int(head(feats, mask).flatten().argmax()), 6)
        assert s <= e < 4
    assert raw_wins_invalid > 0


def test_loss1_and_loss2_equal_hand_computed_values():
    # One question; positive video r = 2, negative video r = 1 (padded to 2). Target span (0, 1).
    pos = torch.tensor([[1.0, 2.0], [NEG, 0.5]])
    neg = torch.tensor([[1.5, NEG], [NEG, NEG]])
    logits = torch.stack([pos, neg])[None]  # (B=1, G=2, 2, 2)
    targets = torch.tensor([[0, 1]])

    loss1 = -2.0 + math.log(math.exp(1.0) + math.exp(2.0) + math.exp(0.5))  # eq. 9
    loss2 = -2.0 + math.log(math.exp(1.0) + math.exp(2.0) + math.exp(0.5) + math.exp(1.5))  # eq. 10-11
    assert span_loss(logits[:, 0], targets).item() == pytest.approx(loss1, abs=1e-6)
    assert contrastive_span_loss(logits, targets).item() == pytest.approx(loss2, abs=1e-6)
    total, l1, l2 = ccgs_loss(logits, targets)
    assert total.item() == pytest.approx(loss1 + loss2, abs=1e-6)  # eq. 12
    assert (l1.item(), l2.item()) == (pytest.approx(loss1, abs=1e-6), pytest.approx(loss2, abs=1e-6))

    # Batched: the mean over questions, with target index start * r + end in each.
    logits2 = torch.stack([logits[0], logits[0].roll(1, dims=0)])
    targets2 = torch.tensor([[0, 1], [0, 0]])
    expected = 0.5 * (loss1 + (-1.5 + math.log(math.exp(1.5))))
    assert span_loss(logits2[:, 0], targets2).item() == pytest.approx(expected, abs=1e-6)


def test_forward_text_only_and_with_visual(tokenizer):
    model = tiny_model(tokenizer).eval()
    videos = [[video(4, visual_frames=10), video(6)], [video(2), video(3, visual_frames=7)]]
    inputs = model.prepare(["q one?", "q two?"], videos)
    assert inputs.visual.shape == (2, 10, VISUAL_DIM) and inputs.visual_rows.tolist() == [0, 3]
    out = model(inputs, targets=torch.tensor([[1, 2], [0, 1]]))
    assert out.logits.shape == (2, 2, 6, 6)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)

    # The same videos without frames: text-only; visual features change only the videos that had them.
    text_only = [[VideoInput(v.sentences, v.times) for v in group] for group in videos]
    out_text = model(model.prepare(["q one?", "q two?"], text_only))
    assert out_text.logits.shape == (2, 2, 6, 6)
    assert not torch.allclose(out.logits[0, 0], out_text.logits[0, 0])
    assert torch.allclose(out.logits[0, 1], out_text.logits[0, 1])

    ablation = tiny_model(tokenizer, use_visual=False).eval()  # table 2: "w/o element-wise CF"
    assert ablation.fusion is None
    assert ablation(ablation.prepare(["q one?", "q two?"], videos)).logits.shape == (2, 2, 6, 6)

    with pytest.raises(ValueError, match="visual features"):
        model.prepare(["q"], [[VideoInput(["a"], [(0.0, 1.0)], visual=np.zeros((3, VISUAL_DIM + 1)))]])


def test_gradients_reach_every_trainable_parameter(tokenizer):
    model = tiny_model(tokenizer).train()
    inputs = model.prepare(["how to clean a wound?"] * 2, [[video(5, 12), video(4, 6, seed=1)], [video(3, 5), video(6, 9)]])
    model(inputs, targets=torch.tensor([[1, 3], [0, 2]])).loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_rotary_scores_depend_on_relative_position():
    torch.manual_seed(0)
    q, k = torch.randn(16), torch.randn(16)
    rq = rotary(q.expand(8, 16).clone(), 10000.0)
    rk = rotary(k.expand(8, 16).clone(), 10000.0)
    assert torch.allclose(rq[1] @ rk[4], rq[3] @ rk[6], atol=1e-5)  # both: end - start = 3
    assert torch.allclose(rq[0].norm(), q.norm(), atol=1e-5) and torch.allclose(rq[0], q)


def test_pack_windows_covers_every_sentence_with_overlap():
    sentences = [[7] * 5 for _ in range(20)]  # 20 sentences of 5 tokens (6 with the boundary)
    windows = pack_windows([3, 3, 3], sentences, cls_id=1, sep_id=2, boundary_id=9, max_len=40, overlap=2)
    assert len(windows) > 1
    covered = set()
    for w in windows:
        assert len(w.input_ids) <= 40
        assert w.input_ids[:5] == [1, 3, 3, 3, 2] and w.input_ids[-1] == 2  # question repeated
        assert all(w.input_ids[b] == 9 for b in w.boundaries)
        covered |= set(range(w.first, w.first + len(w.boundaries)))
    assert covered == set(range(20))
    for a, b in zip(windows, windows[1:]):
        assert a.first + len(a.boundaries) - b.first == 2  # consecutive windows share 2 sentences
    # A single sentence longer than a whole window keeps its boundary token (tail tokens cut).
    long = pack_windows([3], [[7] * 100, [8]], cls_id=1, sep_id=2, boundary_id=9, max_len=16, overlap=1)
    assert sum(len(w.boundaries) for w in long) >= 2 and all(len(w.input_ids) <= 16 for w in long)


def test_long_subtitle_is_packed_and_last_sentence_answer_is_reachable(tokenizer):
    model = tiny_model(tokenizer).train()  # max_len 64 tokens per window
    long_video = video(40, visual_frames=30, words="apply gentle pressure to the bandage and wait")
    inputs = model.prepare(["where is the answer?"], [[long_video, video(3)]])
    assert inputs.input_ids.shape[0] > 3  # several windows for the long video
    assert inputs.input_ids.shape[1] <= 64
    # Every sentence has a feature, read at its own boundary token.
    assert inputs.sentence_mask[0].sum() == 40
    flat_ids = inputs.input_ids.flatten()
    assert torch.all(flat_ids[inputs.sentence_index[0]] == model.boundary_id)
    assert len(set(inputs.sentence_index[0].tolist())) == 40

    out = model(inputs, targets=torch.tensor([[39, 39]]))  # the answer is the last sentence
    assert out.logits.shape == (1, 2, 40, 40) and out.num_sentences.tolist() == [[40, 3]]
    assert out.logits[0, 0, 39, 39] > NEG / 2
    grad = torch.autograd.grad(out.loss, out.logits)[0]
    assert grad[0, 0, 39, 39] < 0  # the loss pushes the last sentence's span up
    top = top_spans(out.matrices(0)[0].detach(), k=40 * 41 // 2)
    assert (39, 39) in {(p.start, p.end) for p in top}


def test_top_spans_and_time_mapping_on_a_hand_case():
    matrix = torch.tensor([[0.1, 3.0, 5.0], [NEG, 1.0, 4.0], [NEG, NEG, 2.0]])
    times = [(0.0, 4.0), (4.0, 9.5), (9.5, 12.0)]
    top = top_spans(matrix, k=3, times=times)
    assert [(p.start, p.end) for p in top] == [(0, 2), (1, 2), (0, 1)]
    assert [p.score for p in top] == [5.0, 4.0, 3.0]
    assert (top[0].start_time, top[0].end_time) == (0.0, 12.0)
    assert (top[1].start_time, top[1].end_time) == (4.0, 12.0)
    assert span_to_time(times, 1, 1) == (4.0, 9.5)
    # At most two sentences: (0, 2) is too long.
    short = top_spans(matrix, k=2, max_span=2)
    assert [(p.start, p.end) for p in short] == [(1, 2), (0, 1)]
    probs = torch.tensor([0.1, 3.0, 5.0, 1.0, 4.0, 2.0]).softmax(0)
    assert top[0].prob == pytest.approx(float(probs[2]))


def test_rank_spans_jointly_across_videos():
    a = torch.tensor([[1.0, 2.0], [NEG, 0.0]])
    b = torch.tensor([[0.5, 6.0, 1.0], [NEG, 3.0, 0.0], [NEG, NEG, 2.5]])
    c = torch.zeros(0, 0)  # a video without subtitles has no spans
    ranked = rank_spans([a, b, c], k=4, times=[[(0, 1), (1, 2)], [(10, 11), (11, 12), (12, 13)], []])
    assert [(p.video, p.start, p.end) for p in ranked] == [(1, 0, 1), (1, 1, 1), (1, 2, 2), (0, 0, 1)]
    assert (ranked[0].start_time, ranked[0].end_time) == (10.0, 12.0)
    assert (ranked[3].start_time, ranked[3].end_time) == (0.0, 2.0)
    everything = rank_spans([a, b, c], k=100)
    assert len(everything) == 3 + 6 and sum(p.prob for p in everything) == pytest.approx(1.0)
    assert video_scores([a, b, c]) == [2.0, 6.0, -math.inf]


def test_predict_ranks_candidate_videos_in_chunks(tokenizer):
    model = tiny_model(tokenizer).eval()
    videos = [video(3), video(5, visual_frames=4), video(2)]
    ranked = model.predict("how do I wash my hands?", videos, k=5, max_span=2, videos_per_batch=2)
    assert len(ranked) == 5
    assert all(p.end - p.start < 2 and p.start_time is not None for p in ranked)
    assert [p.score for p in ranked] == sorted((p.score for p in ranked), reverse=True)


def test_from_config_loads_bundled_minilm_and_round_trips_state_dict():
    config = CCGSConfig(plm_layers=1, visual_dim=VISUAL_DIM)
    model = CCGS.from_config(config, pretrained=True).eval()
    assert model.max_len == 512 and len(model.plm.encoder.layer) == 1
    rebuilt = CCGS.from_config(config, pretrained=False)  # what a checkpoint loader does
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    inputs = model.prepare(["what helps a burn?"], [[video(3, visual_frames=5)]])
    assert torch.allclose(model(inputs).logits, rebuilt.eval()(inputs).logits)
