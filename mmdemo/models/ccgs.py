"""CCGS: cross-modal contrastive global-span answer localisation in a video corpus.

Paper: Li, Weng, Sun, Li, "Learning to locate visual answer in video corpus using question"
(../shared/papers/ccgs-video-corpus-answer-localization.txt). Read top to bottom:

1. Packing (ours, section 2 "Feature Extraction" feeds T = [Q, s_i] to the PLM in one piece):
   ``[CLS] question [SEP] ([SEP] sentence)* [SEP]``. The token *before* each subtitle sentence
   is its boundary token; we reuse the tokenizer's own separator ([SEP] for BERT/MiniLM and
   DeBERTa-v3) so no untrained embedding is added (``CCGSConfig.boundary_token`` may name
   another token already in the vocabulary, e.g. ``[unused0]``). The hidden state at a boundary
   token is that sentence's feature, so the paper's r (subtitle length) counts *sentences* here
   and a span is a run of whole sentences, mapped to time by the sentences' start/end.
   Subtitles longer than one PLM window are packed into several windows of whole sentences,
   each repeating the question, consecutive windows sharing ``window_overlap`` sentences; each
   sentence takes its feature from the window where it has the most context on both sides, and
   the features are put back into one r-long sequence. Nothing is cut: every sentence keeps a
   feature, so every answer span stays reachable (only a single sentence longer than a whole
   window loses its tail tokens, never its boundary token).
2. Cross-modal fusion (eq. 1-4) when frame features are given: visual projection, context-query
   attention (eq. 1), context-query concatenation (eq. 2), Dropout + Conv1d(d -> 1) (eq. 3),
   added element-wise to the sentence features (eq. 4). Eq. 4 broadcasts the m x 1 visual
   column onto the r x d subtitle features, which only works when the two axes are aligned;
   we align them in time: each sentence gets the mean of V''' over the frames inside its
   [start, end] (the nearest frame when none falls inside), an r x 1 column broadcast over d.
   A video without frame features runs text-only (table 2, "w/o element-wise CF").
3. ESLayer (eq. 5): Linear(d, 2d) split into X (tail/end) and Y (head/start).
4. Position embedding (eq. 6): the paper cites kexue.fm/8265, which is the rotary ("spiral")
   embedding; it *rotates* X and Y by the global sentence index instead of adding P as eq. 6
   writes, so that Y_s . X_e depends on e - s (how far the end is from the start).
5. Global-span matrix (eq. 7): Matrix[s, e] = Y^_s . X^_e / sqrt(d); spans with e < s and
   padded sentences are masked with a large negative number (the paper's "Average.Pooling"
   has no stated window; we leave it out).
6. Losses: Loss1 (eq. 9) cross-entropy over one video's flattened r x r matrix, target
   s * r + e; Loss2 (eq. 10-11) cross-entropy over the positive matrix concatenated with M
   negative videos' matrices, every negative entry a negative; Loss = Loss1 + Loss2 (eq. 12).
   Because Loss2 normalises over several videos at once, span scores of different videos are
   comparable, which is what ``rank_spans`` relies on to rank spans of many videos jointly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mmdemo.checkpoint import trained_state_dict
from mmdemo.models.encoders import BUNDLED_MINILM, drop_pooler, hf_backbone, train_top_layers

NEG = -1e9  # logit of a masked span: exp() underflows to exactly 0 in float32


@dataclass(frozen=True)
class CCGSConfig:
    # Section 3: the paper's PLM is DeBERTa-v3-base; "minilm" is the bundled all-MiniLM-L6-v2,
    # anything else a Hugging Face id or local folder (offline: it must be in the local cache).
    text_encoder: str = BUNDLED_MINILM
    plm_layers: int = 0  # 0 = all PLM layers; N keeps the first N (smaller checkpoints; ours)
    # Ours: how many of the PLM's top layers are fine-tuned; -1 = the whole PLM (the paper).
    # With N >= 0 the rest stays at the pretrained weights and exports store only what was
    # trained (trained_state_dict), which keeps a MiniLM-based checkpoint to a few MB.
    train_plm_layers: int = -1
    hidden: int = 384  # section 3: d = 768 with DeBERTa-v3-base; MiniLM's own width here
    # Section 2 "Feature Extraction": the paper uses I3D (1024-d); we take open_clip ViT-B/32
    # image embeddings of sampled frames (512-d).
    visual_dim: int = 512
    use_visual: bool = True  # False builds no fusion layers: table 2 "w/o element-wise CF"
    dropout: float = 0.1  # eq. 3: Dropout(p = 0.1) before Conv1d(d -> 1)
    num_negatives: int = 1  # section 3: M = 1 negative video per question (read by the trainer)
    # Section 3: max_len = 1300 for DeBERTa-v3 (relative positions). PLMs with absolute position
    # tables are capped at their table size (512 for MiniLM); longer subtitles are packed.
    max_len: int = 512
    window_overlap: int = 2  # sentences shared by consecutive windows when packing (ours)
    max_question_tokens: int = 64  # longer questions are cut (ours)
    boundary_token: str = ""  # "" = the tokenizer's separator ([SEP]); else a token in the vocab
    rope_base: float = 10000.0  # eq. 6: rotary embedding base (kexue.fm/8265, RoFormer)
    # Trainer (section 3): AdamW, lr = 1e-5, batch size 2 questions x (1 + M) videos.


# ----------------------------------------------------------------------------------------------
# Inputs: one video's subtitles (and frames), packed into PLM windows


@dataclass
class VideoInput:
    """One candidate video as CCGS sees it."""

    sentences: Sequence[str]  # subtitle sentences, in order
    times: Sequence[tuple[float, float]]  # (start, end) seconds of each sentence
    visual: Any = None  # (m, visual_dim) frame embeddings (numpy or torch), or None: text-only
    frame_times: Sequence[float] | None = None  # seconds of each frame; None = evenly spread
    duration: float | None = None  # seconds; default: end of the last sentence
    video_id: str = ""

    @classmethod
    def from_captions(cls, captions: Sequence[Any], **kwargs: Any) -> "VideoInput":
        """From anything with .text/.start/.end (e.g. mmdemo.media.subtitles.Caption)."""
        return cls([c.text for c in captions], [(float(c.start), float(c.end)) for c in captions], **kwargs)


@dataclass
class CCGSInputs:
    """Tensors for B questions x G videos; built by ``CCGS.prepare``. Windows are PLM rows."""

    input_ids: torch.Tensor  # (W, L) every window of every (question, video) pair
    attention_mask: torch.Tensor  # (W, L)
    token_type_ids: torch.Tensor  # (W, L) 0 = question, 1 = subtitle
    sentence_index: torch.Tensor  # (N, R) flat index into the W*L hidden states; N = B*G
    sentence_mask: torch.Tensor  # (N, R) real sentence
    question_index: torch.Tensor  # (N, P) flat index of the question tokens (first window)
    question_mask: torch.Tensor  # (N, P)
    visual: torch.Tensor | None  # (Nv, F, visual_dim) only the pairs that have frames
    visual_mask: torch.Tensor | None  # (Nv, F)
    visual_align: torch.Tensor | None  # (Nv, R, F) rows average the frames inside a sentence
    visual_rows: torch.Tensor | None  # (Nv,) which of the N pairs each visual row belongs to
    groups: tuple[int, int]  # (B, G)

    def to(self, device: torch.device | str) -> "CCGSInputs":
        moved = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in vars(self).items()}
        return CCGSInputs(**moved)


@dataclass
class Window:
    """A run of whole sentences sharing one PLM input with the question."""

    input_ids: list[int]
    boundaries: list[int]  # token position of each sentence's boundary token
    first: int  # global index of the first sentence it holds
    question_len: int  # question tokens at positions 1 .. question_len


def pack_windows(question_ids: list[int], sentence_ids: list[list[int]], *, cls_id: int, sep_id: int,
                 boundary_id: int, max_len: int, overlap: int) -> list[Window]:
    """Greedy packing of whole sentences into windows of at most ``max_len`` tokens.

    Each window is ``[CLS] q [SEP] (<b> sentence)* [SEP]``; the next window starts ``overlap``
    sentences before the previous one ended (always at least one sentence later).
    """
    head = [cls_id, *question_ids, sep_id]
    budget = max_len - len(head) - 1  # room for (<b> sentence)* before the final [SEP]
    if budget < 2:
        raise ValueError(f"max_len {max_len} leaves no room for subtitles after a {len(question_ids)}-token question")
    sents = [ids[: budget - 1] for ids in sentence_ids]  # a lone over-long sentence loses its tail

    def window(first: int, last: int) -> Window:
        ids, bounds = list(head), []
        for ids_i in sents[first:last]:
            bounds.append(len(ids))
            ids += [boundary_id, *ids_i]
        return Window(ids + [sep_id], bounds, first, len(question_ids))

    windows, first = [], 0
    while True:
        last, used = first, 0
        while last < len(sents) and used + 1 + len(sents[last]) <= budget:
            used += 1 + len(sents[last])
            last += 1
        windows.append(window(first, last))
        if last >= len(sents):
            return windows
        first = max(last - overlap, first + 1)


def sentence_owners(windows: list[Window], num_sentences: int) -> list[tuple[int, int]]:
    """For each sentence, (window, slot) of the window where it has most context on both sides."""
    owners = []
    for i in range(num_sentences):
        best, best_ctx = None, -1.0
        for w, win in enumerate(windows):
            last = win.first + len(win.boundaries)
            if not win.first <= i < last:
                continue
            left = i - win.first if win.first > 0 else math.inf  # the video's own start is no edge
            right = last - 1 - i if last < num_sentences else math.inf
            if min(left, right) > best_ctx:
                best, best_ctx = (w, i - win.first), min(left, right)
        owners.append(best)
    return owners


def frame_alignment(times: Sequence[tuple[float, float]], frame_times: np.ndarray) -> np.ndarray:
    """(r, m) row-stochastic: sentence i averages the frames inside [start_i, end_i], else the nearest."""
    align = np.zeros((len(times), len(frame_times)), dtype=np.float32)
    for i, (start, end) in enumerate(times):
        inside = (frame_times >= start) & (frame_times <= end)
        if inside.any():
            align[i, inside] = 1.0 / inside.sum()
        else:
            align[i, np.abs(frame_times - 0.5 * (start + end)).argmin()] = 1.0
    return align


def _frame_times(video: VideoInput, m: int) -> np.ndarray:
    if video.frame_times is not None:
        times = np.asarray(video.frame_times, dtype=np.float64)
        if len(times) != m:
            raise ValueError(f"video {video.video_id!r}: {m} frames but {len(times)} frame times")
        return times
    duration = video.duration if video.duration is not None else max(end for _, end in video.times)
    return (np.arange(m) + 0.5) * duration / m  # frame centres, evenly spread over the video


def pad_windows(windows: list[Window], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Windows as (W, L) input ids, attention mask and token types (0 question, 1 subtitles), padded to the longest."""
    length = max(len(w.input_ids) for w in windows)
    input_ids = torch.full((len(windows), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(windows), length), dtype=torch.long)
    types = torch.zeros((len(windows), length), dtype=torch.long)
    for i, w in enumerate(windows):
        input_ids[i, : len(w.input_ids)] = torch.tensor(w.input_ids)
        attention[i, : len(w.input_ids)] = 1
        types[i, w.question_len + 2 : len(w.input_ids)] = 1
    return input_ids, attention, types


def flat_positions(rows: list[list[tuple[int, int]]], length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pair, its (window, position) tokens as indices into the flattened (W * L) hidden states, and a mask."""
    width = max(1, max(len(r) for r in rows))
    index = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for n, r in enumerate(rows):
        for j, (w, pos) in enumerate(r):
            index[n, j], mask[n, j] = w * length + pos, True
    return index, mask


def pad_visual(feats: list[torch.Tensor], aligns: list[np.ndarray], sentences: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Frame features (Nv, F, d) padded to the most frames, their mask, and the (Nv, R, F) sentence alignments."""
    frames = max(len(v) for v in feats)
    visual = torch.zeros((len(feats), frames, feats[0].shape[1]))
    mask = torch.zeros((len(feats), frames), dtype=torch.bool)
    align = torch.zeros((len(feats), sentences, frames))
    for i, (f, a) in enumerate(zip(feats, aligns)):
        visual[i, : len(f)], mask[i, : len(f)] = f, True
        align[i, : a.shape[0], : a.shape[1]] = torch.from_numpy(a)
    return visual, mask, align


# ----------------------------------------------------------------------------------------------
# Model parts


class ContextQueryAttention(nn.Module):
    """Eq. 1 (VSLNet's CQA): visual steps V (context) attend to text T (query)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.w_v = nn.Linear(d, 1, bias=False)  # trilinear similarity S = w^T [v; t; v*t]
        self.w_t = nn.Linear(d, 1, bias=False)
        self.w_vt = nn.Parameter(torch.randn(d) / math.sqrt(d))
        self.ffn = nn.Linear(4 * d, d)  # "FFN is one layer perceptron"

    def forward(self, v: torch.Tensor, v_mask: torch.Tensor, t: torch.Tensor, t_mask: torch.Tensor) -> torch.Tensor:
        s = self.w_v(v) + self.w_t(t).transpose(1, 2) + (v * self.w_vt) @ t.transpose(1, 2)  # (n, m, L)
        s_r = s.masked_fill(~t_mask[:, None, :], NEG).softmax(dim=2)  # row-wise: over text
        s_c = s.masked_fill(~v_mask[:, :, None], NEG).softmax(dim=1)  # column-wise: over frames
        a = s_r @ t  # (n, m, d) context-to-query
        b = s_r @ s_c.transpose(1, 2) @ v  # (n, m, d) query-to-context
        return self.ffn(torch.cat([v, a, v * a, v * b], dim=-1))


class ContextQueryConcat(nn.Module):
    """Eq. 2: additive (Bahdanau) attention pooling of T, concatenated to every visual step,
    then Conv1d(2d -> d); a kernel-1 Conv1d is a Linear over channels."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, 1, bias=False))
        self.conv = nn.Linear(2 * d, d)

    def forward(self, v: torch.Tensor, t: torch.Tensor, t_mask: torch.Tensor) -> torch.Tensor:
        alpha = self.score(t).squeeze(-1).masked_fill(~t_mask, NEG).softmax(dim=-1)  # (n, L)
        pooled = (alpha.unsqueeze(-1) * t).sum(1, keepdim=True).expand_as(v)
        return self.conv(torch.cat([v, pooled], dim=-1))


class CrossModalFusion(nn.Module):
    """Eq. 1-4: frames -> one scalar per sentence, added to every channel of its feature."""

    def __init__(self, config: CCGSConfig) -> None:
        super().__init__()
        d = config.hidden
        self.proj = nn.Linear(config.visual_dim, d)  # "visual projection"
        self.cqa = ContextQueryAttention(d)
        self.cqc = ContextQueryConcat(d)
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(d, 1)  # eq. 3: Conv1d(d -> 1), kernel 1

    def forward(self, visual, visual_mask, align, t, t_mask) -> torch.Tensor:
        v = self.proj(visual)
        v = self.cqa(v, visual_mask, t, t_mask)  # V'   (eq. 1)
        v = self.cqc(v, t, t_mask)  # V''  (eq. 2)
        v = self.out(self.drop(v))  # V''' (eq. 3): (n, m, 1)
        return align @ v  # (n, r, 1): each sentence's frames averaged, broadcast over d in eq. 4


def rotary(x: torch.Tensor, base: float) -> torch.Tensor:
    """Eq. 6, rotary position embedding (kexue.fm/8265): rotate channel pairs (2i, 2i+1) of
    position p by p * base^(-2i/d), so <rot(q, s), rot(k, e)> depends only on e - s."""
    d = x.shape[-1]
    pos = torch.arange(x.shape[-2], device=x.device, dtype=torch.float32)
    freq = base ** (-torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d)
    angle = pos[:, None] * freq[None, :]  # (r, d/2)
    cos, sin = angle.cos().repeat_interleave(2, -1), angle.sin().repeat_interleave(2, -1)
    x_pairs = torch.stack([-x[..., 1::2], x[..., 0::2]], dim=-1).reshape(x.shape)  # (-x1, x0, -x3, x2, ...)
    return x * cos.to(x.dtype) + x_pairs * sin.to(x.dtype)


class GlobalSpanHead(nn.Module):
    """Eq. 5-7: ESLayer split into X (end) and Y (start), rotary positions, masked Y^ X^T / sqrt(d)."""

    def __init__(self, config: CCGSConfig) -> None:
        super().__init__()
        if config.hidden % 2:
            raise ValueError(f"hidden must be even for the rotary embedding, got {config.hidden}")
        self.es_layer = nn.Linear(config.hidden, 2 * config.hidden)  # eq. 5: [d, 2d]
        self.rope_base = config.rope_base

    def forward(self, t_bar: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x, y = self.es_layer(t_bar).chunk(2, dim=-1)  # eq. 5: X = [:d] (tail), Y = [d:] (head)
        x, y = rotary(x, self.rope_base), rotary(y, self.rope_base)  # eq. 6, global sentence index
        matrix = (y @ x.transpose(1, 2)).float() / math.sqrt(x.shape[-1])  # eq. 7: [start, end]
        return matrix.masked_fill(~span_mask(mask), NEG)


def span_mask(sentence_mask: torch.Tensor) -> torch.Tensor:
    """(..., r) real sentences -> (..., r, r) valid spans: start <= end, both real."""
    r = sentence_mask.shape[-1]
    upper = torch.ones(r, r, dtype=torch.bool, device=sentence_mask.device).triu()
    return upper & sentence_mask[..., :, None] & sentence_mask[..., None, :]


# ----------------------------------------------------------------------------------------------
# Losses (eq. 9-12); logits are the masked matrices, targets (B, 2) = (start, end) sentences


def span_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. 9, Loss1: CE over one video's flattened (r x r) matrix, target index start * r + end."""
    b, r, _ = logits.shape
    return F.cross_entropy(logits.reshape(b, r * r).float(), targets[:, 0] * r + targets[:, 1])


def contrastive_span_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. 10-11, Loss2: CE over [positive matrix; M negative matrices] flattened together.
    ``logits`` is (B, 1 + M, r, r) with the positive video first, so the target index is unchanged."""
    b, g, r, _ = logits.shape
    return F.cross_entropy(logits.reshape(b, g * r * r).float(), targets[:, 0] * r + targets[:, 1])


def ccgs_loss(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 12: (Loss1 + Loss2, Loss1, Loss2)."""
    loss1, loss2 = span_loss(logits[:, 0], targets), contrastive_span_loss(logits, targets)
    return loss1 + loss2, loss1, loss2


# ----------------------------------------------------------------------------------------------
# The model


@dataclass
class CCGSOutput:
    logits: torch.Tensor  # (B, G, R, R) global-span matrices, masked entries = NEG
    num_sentences: torch.Tensor  # (B, G) r of each video (R = max r, at least 1)
    loss: torch.Tensor | None = None  # Loss1 + Loss2 when targets were given
    loss1: torch.Tensor | None = None
    loss2: torch.Tensor | None = None

    def matrices(self, question: int = 0) -> list[torch.Tensor]:
        """One (r_i, r_i) matrix per video of one question, padding trimmed (for ``rank_spans``)."""
        return [self.logits[question, g, :r, :r] for g, r in enumerate(self.num_sentences[question].tolist())]


class CCGS(nn.Module):
    def __init__(self, config: CCGSConfig, plm: nn.Module, tokenizer: Any) -> None:
        super().__init__()
        self.config = config
        self.plm = drop_pooler(plm)
        self.tokenizer = tokenizer
        plm_cfg = plm.config
        self.text_proj = nn.Linear(plm_cfg.hidden_size, config.hidden)  # "textual projection"
        self.fusion = CrossModalFusion(config) if config.use_visual else None
        self.span_head = GlobalSpanHead(config)

        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.boundary_id = self.sep_id
        if config.boundary_token:
            self.boundary_id = tokenizer.convert_tokens_to_ids(config.boundary_token)
            if self.boundary_id is None or self.boundary_id == tokenizer.unk_token_id:
                raise ValueError(f"boundary token {config.boundary_token!r} is not in the vocabulary")
        # Absolute position tables cap the window; relative ones (DeBERTa-v3) take the paper's 1300.
        self.max_len = config.max_len
        if getattr(plm_cfg, "position_biased_input", True) and getattr(plm_cfg, "max_position_embeddings", 0):
            self.max_len = min(self.max_len, plm_cfg.max_position_embeddings)
        self.use_token_types = getattr(plm_cfg, "type_vocab_size", 0) >= 2
        train_top_layers(plm, config.train_plm_layers)

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights training changed: everything, or (with a partly frozen PLM) all but the frozen PLM."""
        return trained_state_dict(self, "plm.")

    @classmethod
    def from_config(cls, config: CCGSConfig = CCGSConfig(), pretrained: bool = True) -> "CCGS":
        """Pretrained PLM weights, or random ones of the same architecture (tests, checkpoint loading)."""
        return cls(config, *hf_backbone(config.text_encoder, pretrained, config.plm_layers))

    @property
    def device(self) -> torch.device:
        return self.text_proj.weight.device

    # -- inputs ---------------------------------------------------------------------------------

    def prepare(self, questions: Sequence[str], videos: Sequence[Sequence[VideoInput]]) -> CCGSInputs:
        """B questions, each with the same number G of candidate videos (positive first when training)."""
        if len(questions) != len(videos) or len({len(v) for v in videos}) > 1 or not videos or not videos[0]:
            raise ValueError("prepare needs one equally long, non-empty list of videos per question")
        windows: list[Window] = []
        sentence_rows: list[list[tuple[int, int]]] = []  # per pair: (window, position) of each sentence
        question_rows: list[list[tuple[int, int]]] = []  # per pair: (window, position) of each question token
        visual_rows, visual_feats, visual_aligns = [], [], []
        for question, group in zip(questions, videos):
            q_ids = self.tokenizer(question, add_special_tokens=False)["input_ids"][: self.config.max_question_tokens]
            for video in group:
                if len(video.times) != len(video.sentences):
                    raise ValueError(f"video {video.video_id!r}: {len(video.sentences)} sentences but {len(video.times)} times")
                s_ids = self.tokenizer(list(video.sentences), add_special_tokens=False)["input_ids"] if video.sentences else []
                wins = pack_windows(q_ids, s_ids, cls_id=self.cls_id, sep_id=self.sep_id, boundary_id=self.boundary_id,
                                    max_len=self.max_len, overlap=self.config.window_overlap)
                base = len(windows)
                windows += wins
                sentence_rows.append([(base + w, wins[w].boundaries[slot]) for w, slot in sentence_owners(wins, len(s_ids))])
                question_rows.append([(base, 1 + j) for j in range(len(q_ids))])
                if video.visual is not None and self.fusion is not None and len(video.sentences):
                    visual = self._visual_features(video)
                    visual_rows.append(len(sentence_rows) - 1)
                    visual_feats.append(visual)
                    visual_aligns.append(frame_alignment(video.times, _frame_times(video, len(visual))))

        input_ids, attention, types = pad_windows(windows, self.pad_id)
        length = input_ids.shape[1]
        sentence_index, sentence_mask = flat_positions(sentence_rows, length)
        question_index, question_mask = flat_positions(question_rows, length)
        visual = visual_mask = visual_align = rows = None
        if visual_rows:
            visual, visual_mask, visual_align = pad_visual(visual_feats, visual_aligns, sentence_index.shape[1])
            rows = torch.tensor(visual_rows, dtype=torch.long)
        return CCGSInputs(input_ids, attention, types, sentence_index, sentence_mask, question_index, question_mask,
                          visual, visual_mask, visual_align, rows, (len(videos), len(videos[0])))

    def _visual_features(self, video: VideoInput) -> torch.Tensor:
        """A video's (m, visual_dim) frame embeddings as a float CPU tensor, checked."""
        visual = video.visual if isinstance(video.visual, torch.Tensor) else torch.from_numpy(np.asarray(video.visual))
        visual = visual.detach().float().cpu()
        if visual.ndim != 2 or visual.shape[1] != self.config.visual_dim:
            raise ValueError(f"visual features must be (m, {self.config.visual_dim}), got {tuple(visual.shape)}")
        return visual

    # -- forward --------------------------------------------------------------------------------

    def forward(self, inputs: CCGSInputs, targets: torch.Tensor | None = None) -> CCGSOutput:
        """Global-span matrices for every (question, video) pair; with targets (B, 2) of the
        positive (first) video's (start, end) sentences, also Loss1 + Loss2 (eq. 12)."""
        b, g = inputs.groups
        kwargs = {"token_type_ids": inputs.token_type_ids} if self.use_token_types else {}
        hidden = self.plm(input_ids=inputs.input_ids, attention_mask=inputs.attention_mask, **kwargs).last_hidden_state
        hidden = self.text_proj(hidden).flatten(0, 1)  # (W*L, d)
        sents = hidden[inputs.sentence_index]  # T[p:]: (N, R, d) boundary-token features
        if self.fusion is not None and inputs.visual is not None:
            rows = inputs.visual_rows
            text = torch.cat([hidden[inputs.question_index], sents], dim=1)[rows]  # T = [Q, s]
            text_mask = torch.cat([inputs.question_mask, inputs.sentence_mask], dim=1)[rows]
            v3 = self.fusion(inputs.visual, inputs.visual_mask, inputs.visual_align, text, text_mask)
            sents = sents.index_add(0, rows, v3.expand(-1, -1, sents.shape[-1]).to(sents.dtype))  # eq. 4
        logits = self.span_head(sents, inputs.sentence_mask)  # (N, R, R)
        r = logits.shape[-1]
        out = CCGSOutput(logits.view(b, g, r, r), inputs.sentence_mask.sum(-1).view(b, g))
        if targets is not None:
            out.loss, out.loss1, out.loss2 = ccgs_loss(out.logits, targets.to(logits.device))
        return out

    @torch.no_grad()
    def predict(self, question: str, videos: Sequence[VideoInput], k: int = 10, max_span: int | None = None,
                videos_per_batch: int = 8) -> list["SpanPrediction"]:
        """Score every span of every candidate video and rank them jointly (best first)."""
        matrices: list[torch.Tensor] = []
        for lo in range(0, len(videos), videos_per_batch):
            chunk = list(videos[lo : lo + videos_per_batch])
            out = self(self.prepare([question], [chunk]).to(self.device))
            matrices += [m.cpu() for m in out.matrices(0)]
        return rank_spans(matrices, k=k, max_span=max_span, times=[v.times for v in videos])


# ----------------------------------------------------------------------------------------------
# Decoding


def span_targets(times: Sequence[tuple[float, float]], start: float, end: float) -> tuple[int, int]:
    """Answer seconds -> (first, last) sentence: the sentences that overlap [start, end].

    When no sentence overlaps (an answer in a silent stretch), the nearest sentence stands in.
    """
    starts = np.array([t[0] for t in times])
    ends = np.array([t[1] for t in times])
    overlapping = np.nonzero((starts < end) & (ends > start))[0]
    if len(overlapping):
        return int(overlapping[0]), int(overlapping[-1])
    nearest = int(np.argmin(np.minimum(abs(starts - start), abs(ends - end))))
    return nearest, nearest


@dataclass(frozen=True)
class SpanPrediction:
    video: int  # index into the candidate videos
    start: int  # first sentence
    end: int  # last sentence (inclusive)
    score: float  # global-span logit; comparable across videos (Loss2)
    prob: float  # softmax over every valid span of every candidate video together
    start_time: float | None = None  # seconds, when sentence times were given
    end_time: float | None = None


def span_to_time(times: Sequence[tuple[float, float]], start: int, end: int) -> tuple[float, float]:
    """Sentences start..end (inclusive) -> (start of the first, end of the last) in seconds."""
    return float(times[start][0]), float(times[end][1])


def rank_spans(matrices: Sequence[torch.Tensor], k: int = 10, max_span: int | None = None,
               times: Sequence[Sequence[tuple[float, float]]] | None = None) -> list[SpanPrediction]:
    """Top-k valid spans (start <= end, at most ``max_span`` sentences) over several videos jointly.

    ``matrices`` holds one (r_i, r_i) global-span matrix per video (``CCGSOutput.matrices``);
    with ``times`` (one list of sentence times per video) spans also get start/end seconds.
    """
    scores, owners = [], []
    for v, matrix in enumerate(matrices):
        r = matrix.shape[-1]
        valid = torch.ones(r, r, dtype=torch.bool).triu()
        if max_span is not None:
            valid &= ~torch.ones(r, r, dtype=torch.bool).triu(max_span)  # end - start < max_span
        valid &= matrix.detach().cpu() > NEG / 2
        flat = matrix.detach().float().cpu().masked_fill(~valid, -math.inf).flatten()
        keep = flat > -math.inf
        scores.append(flat[keep])
        index = keep.nonzero().squeeze(1)
        owners.append(torch.stack([torch.full_like(index, v), index // r, index % r], dim=1))
    if not scores or sum(len(s) for s in scores) == 0:
        return []
    scores_t, owners_t = torch.cat(scores), torch.cat(owners)
    probs = scores_t.softmax(0)
    top = scores_t.topk(min(k, len(scores_t))).indices
    out = []
    for i in top.tolist():
        v, s, e = owners_t[i].tolist()
        t0, t1 = span_to_time(times[v], s, e) if times is not None else (None, None)
        out.append(SpanPrediction(v, s, e, float(scores_t[i]), float(probs[i]), t0, t1))
    return out


def top_spans(matrix: torch.Tensor, k: int = 10, max_span: int | None = None,
              times: Sequence[tuple[float, float]] | None = None) -> list[SpanPrediction]:
    """Top-k valid spans of one video's (r, r) matrix."""
    return rank_spans([matrix], k=k, max_span=max_span, times=None if times is None else [times])


def video_scores(matrices: Sequence[torch.Tensor]) -> list[float]:
    """Retrieval score per video: its best valid span's logit (section 3: "select the highest")."""
    out = []
    for matrix in matrices:
        r = matrix.shape[-1]
        valid = torch.ones(r, r, dtype=torch.bool).triu() & (matrix.detach().cpu() > NEG / 2)
        out.append(float(matrix.detach().float().cpu()[valid].max()) if valid.any() else -math.inf)
    return out
