from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mmdemo.checkpoint import CheckpointError, save_checkpoint
from mmdemo.models.factory import AUDIO_TEXT, CAPTIONER, load_model
from mmdemo.models.captioner import (
    IGNORE,
    LOSS_NAMES,
    Captioner,
    CaptionerConfig,
    loss_vector,
    mask_frames,
    mask_tokens,
    pad_frames,
)
from mmdemo.models.encoders import TextEncoder

TINY = CaptionerConfig(frame_dim=16, max_frames=8, max_caption_tokens=16, dim=32, heads=2, ff_dim=64,
                       video_layers=1, cross_layers=1, decoder_layers=1, dropout=0.0, text_train_layers=1)
CAPTIONS = ["a red circle moves to the left", "a blue square turns green",
            "a yellow triangle appears", "two shapes collide in the middle"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny matrices run fastest on one thread (and the CI machine's cores are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def text() -> TextEncoder:
    return TextEncoder.from_config(TINY.text, pretrained=True)


def build(text: TextEncoder, seed: int = 0, config: CaptionerConfig = TINY) -> Captioner:
    torch.manual_seed(seed)
    return Captioner(config, copy.deepcopy(text))


@pytest.fixture(scope="module")
def model(text) -> Captioner:
    return build(text)


def videos(count: int, seed: int = 0, frames: tuple[int, int] = (3, 8)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((int(rng.integers(*frames)), TINY.frame_dim)).astype(np.float32) for _ in range(count)]


def batch(model: Captioner, transcripts: bool) -> dict[str, torch.Tensor]:
    frames, frame_mask = model.pad_frames(videos(4))
    caption = model.tokenize_captions(CAPTIONS)
    out = {"frames": frames, "frame_mask": frame_mask, "caption_ids": caption["input_ids"],
           "caption_mask": caption["attention_mask"]}
    if transcripts:
        said = model.tokenize_transcripts(["now the red one goes left", "watch it change colour", "here it comes", "they crash"])
        out |= {"transcript_ids": said["input_ids"], "transcript_mask": said["attention_mask"]}
    return out


def test_pad_frames_masks_padding_and_subsamples_long_videos():
    short, long = np.ones((2, 4), np.float32), np.arange(40, dtype=np.float32).reshape(10, 4)
    frames, mask = pad_frames([short, long], max_frames=5)
    assert frames.shape == (2, 5, 4) and mask.tolist() == [[True, True, False, False, False], [True] * 5]
    assert frames[1, :, 0].tolist() == [0.0, 8.0, 16.0, 28.0, 36.0]  # frames 0, 2, 4, 7, 9: evenly spread, both ends kept
    with pytest.raises(ValueError, match="at least one frame"):
        pad_frames([np.zeros((0, 4), np.float32)], max_frames=5)


@pytest.mark.parametrize("transcripts", [False, True], ids=["V", "V+T"])
def test_every_loss_is_a_finite_scalar_in_the_documented_order(model, transcripts):
    model.train()
    losses = model(**batch(model, transcripts))
    assert tuple(losses) == LOSS_NAMES and LOSS_NAMES[0] == "caption"
    assert all(value.shape == () and torch.isfinite(value) for value in losses.values())
    assert loss_vector(losses).shape == (len(LOSS_NAMES),)
    # near log(vocab) at initialisation: the tied output layer starts small
    assert abs(losses["caption"].item() - np.log(model.vocab_size)) < 1.0


@pytest.mark.parametrize("transcripts", [False, True], ids=["V", "V+T"])
def test_every_loss_reaches_the_parameters_it_trains(model, transcripts):
    model.train()
    losses = model(**batch(model, transcripts))
    named = {name: p for name, p in model.named_parameters() if p.requires_grad}
    expected = {  # a parameter each loss must move (besides the shared encoders)
        "caption": "decoder.0.cross.q.weight", "joint": "log_scale", "align": "align_head.weight",
        "cmlm": "mlm_bias", "cmfm": "frame_head.weight", "caption_masked": "decoder.0.cross.q.weight",
        "joint_masked": "log_scale", "align_masked": "align_head.weight",
    }
    for name, loss in losses.items():
        grads = dict(zip(named, torch.autograd.grad(loss, list(named.values()), retain_graph=True, allow_unused=True)))
        moved = {k for k, g in grads.items() if g is not None and g.abs().sum() > 0}
        assert expected[name] in moved, name
        assert "frame_proj.weight" in moved, f"{name} does not reach the video encoder"
        if not name.startswith("caption") or transcripts:  # V: generation sees no text; V+T: the transcript
            assert any(k.startswith("text.backbone.") for k in moved), f"{name} does not reach the text encoder"
        assert not any(k.startswith("text.backbone.embeddings") for k in moved)  # frozen below the top layer


def test_the_losses_gradient_can_be_differentiated_again(model):
    """AID-FP-Lite (training.aid_fp_lite) differentiates d(weighted losses)/dw with respect to the weights."""
    model.train()
    weights = torch.ones(len(LOSS_NAMES), requires_grad=True)
    params = [p for p in model.parameters() if p.requires_grad]
    total = (weights * loss_vector(model(**batch(model, transcripts=True)))).sum()
    grads = torch.autograd.grad(total, params, create_graph=True)
    (mixed,) = torch.autograd.grad(sum(g.square().sum() for g in grads), weights)
    assert torch.isfinite(mixed).all() and (mixed != 0).all()


def test_mask_tokens_masks_only_real_words_and_labels_them():
    config = CaptionerConfig()
    torch.manual_seed(0)
    ids = torch.randint(1000, 2000, (400, 20))
    ids[:, 0], ids[:, 15] = 101, 102  # [CLS] ... [SEP], then padding
    ids[:, 16:] = 0
    attention = (ids != 0).long()
    masked, labels = mask_tokens(ids, attention, (0, 101, 102, 103), 103, 30522, config)
    chosen = labels != IGNORE
    assert not chosen[:, [0, 15, 16, 17, 18, 19]].any()  # specials and padding are never masked
    assert (labels[chosen] == ids[chosen]).all()  # a label is the original token
    assert (masked[~chosen] == ids[~chosen]).all()  # what is not chosen is untouched
    assert chosen.any(dim=1).all()  # at least one per row, so CMLM always has a target
    assert 0.13 < chosen[:, 1:15].float().mean() < 0.19  # 15 % (+ the at-least-one rule)
    assert 0.75 < (masked[chosen] == 103).float().mean() < 0.85  # 80 % [MASK]
    kept = (masked[chosen] == ids[chosen]).float().mean()
    assert 0.07 < kept < 0.13  # 10 % kept (a random token equals the original almost never)


def test_mask_frames_masks_only_real_frames():
    config = CaptionerConfig()
    torch.manual_seed(0)
    frames = torch.randn(64, 10, 8) + 5.0
    frame_mask = torch.ones(64, 10, dtype=torch.bool)
    frame_mask[:, 7:] = False
    masked, chosen = mask_frames(frames, frame_mask, config)
    assert not chosen[:, 7:].any() and chosen.any(dim=1).all()
    assert torch.equal(masked[~chosen], frames[~chosen])
    zero = (masked[chosen] == 0).all(dim=-1).float().mean()
    assert 0.7 < zero < 0.9


def test_cmlm_reads_only_the_masked_positions(model):
    torch.manual_seed(0)
    text_cross = torch.randn(2, 6, TINY.dim)
    labels = torch.full((2, 6), IGNORE)
    labels[0, 2], labels[1, 4] = 2000, 3000
    changed = text_cross.clone()
    changed[labels == IGNORE] = torch.randn(10, TINY.dim)
    with torch.no_grad():
        loss = model.cmlm_loss(text_cross, labels).item()
        assert model.cmlm_loss(changed, labels).item() == pytest.approx(loss)
        changed[0, 2] += 1.0
        assert model.cmlm_loss(changed, labels).item() != pytest.approx(loss)


def test_the_transcript_conditions_the_caption(model):
    model.eval()
    frames, frame_mask = model.pad_frames(videos(1))
    memory, memory_mask = model.memory(frames, frame_mask)
    assert memory.shape == (1, frame_mask.shape[1], TINY.dim)  # V: the frames alone
    said = [model.tokenize_transcripts([t]) for t in ("the red one goes left", "the blue one turns green")]
    logits = []
    for t in said:
        memory, memory_mask = model.memory(frames, frame_mask, t["input_ids"], t["attention_mask"])
        assert memory.shape[1] == t["input_ids"].shape[1] + frame_mask.shape[1]  # V+T: [transcript; frames]
        logits.append(model.decode(torch.tensor([[model.bos_id]]), memory, memory_mask))
    assert not torch.allclose(logits[0], logits[1])


@pytest.mark.parametrize("transcripts", [None, ["the red one goes left", "nothing to say", "a shape appears"]])
def test_greedy_equals_beam_search_of_size_one(model, transcripts):
    model.eval()
    frames, frame_mask = model.pad_frames(videos(3, seed=1))
    said = model.tokenize_transcripts(transcripts) if transcripts else {}
    args = (frames, frame_mask, said.get("input_ids"), said.get("attention_mask"))
    greedy = model.greedy(*args, max_length=6)
    beams = model.beam_search(*args, beam_size=1, max_length=6)
    assert [[h.tokens] for h in greedy] == [[h.tokens for h in video] for video in beams]
    assert [h.score for h in greedy] == pytest.approx([video[0].score for video in beams], abs=1e-4)
    wide = model.beam_search(*args, beam_size=3, max_length=6, length_penalty=0.0)
    for video in wide:
        assert len(video) == 3 and all(len(h.tokens) <= 6 for h in video)
        assert [h.score for h in video] == sorted((h.score for h in video), reverse=True)
    with pytest.raises(ValueError, match="max_length"):
        model.greedy(frames, frame_mask, max_length=TINY.max_caption_tokens)


def test_a_tiny_model_overfits_four_captions(text):
    model = build(text, seed=0)
    features = videos(4, seed=3, frames=(4, 7))
    frames, frame_mask = model.pad_frames(features)
    caption = model.tokenize_captions(CAPTIONS)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.0)
    model.train()
    for _ in range(60):
        loss = loss_vector(model(frames, frame_mask, caption["input_ids"], caption["attention_mask"])).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    assert [beams[0][0] for beams in model.caption(features)] == CAPTIONS
    assert [beams[0][0] for beams in model.caption(features, beam_size=2)] == CAPTIONS


def test_export_round_trip_and_wrong_family(model, tmp_path):
    model.eval()
    save_checkpoint(tmp_path / "captioner", model.trained_state_dict(), family=CAPTIONER, config=TINY)
    loaded = load_model(tmp_path / "captioner", CAPTIONER)
    frames, frame_mask = model.pad_frames(videos(2))
    assert [h.tokens for h in loaded.greedy(frames, frame_mask, max_length=5)] == \
        [h.tokens for h in model.greedy(frames, frame_mask, max_length=5)]
    frozen = [k for k in model.state_dict() if k.startswith("text.backbone.embeddings")]
    assert frozen and not set(frozen) & set(model.trained_state_dict())  # frozen layers are not exported
    save_checkpoint(tmp_path / "other", model.trained_state_dict(), family=AUDIO_TEXT, config=TINY)
    with pytest.raises(CheckpointError, match="not a video captioner"):
        load_model(tmp_path / "other", CAPTIONER)
