"""A UniVL-style video captioner and the pretext losses MELTR combines.

Papers: Luo et al., "UniVL: A Unified Video and Language Pre-Training Model" (UniVL, [7] in
MELTR), as summarised in Ko et al., "MELTR" (../shared/papers/meltr-meta-loss-transformer.txt)
section 3.1; the losses MELTR fine-tunes with are in its section 5 ("Implementation details") and A.1.
Read top to bottom:

1. Four transformer modules (MELTR 3.1: "two single-modal encoders, a cross-modal encoder,
   and a decoder"):
   - video encoder: precomputed frame embeddings (open_clip, ``mmdemo.frame_features``;
     UniVL used S3D clip features) -> Linear -> + frame position -> transformer layers;
   - text encoder: a Hugging Face encoder (the bundled MiniLM by default; UniVL: BERT-base) for
     the caption and the transcript, its tokens projected to the model width; only its top
     ``text_train_layers`` layers are fine-tuned when that is >= 0;
   - cross-modal encoder: transformer layers over [text tokens; video tokens] with a modality
     embedding added;
   - caption decoder: a causal transformer decoder attending to the cross encoder's output,
     over the text encoder's vocabulary, its output layer tied to its token embedding.
2. Inputs: V (video only: the cross encoder sees the frames alone) or V+T (video + transcript:
   the cross encoder sees [transcript; frames]), UniVL's two captioning settings (the
   "Modality" column of MELTR's YouCook2 captioning table).
3. Losses, every one computed on every batch, in the fixed order of ``LOSS_NAMES`` (the
   caption is the "text" of the pairwise losses; the transcript only conditions generation):

   ====================  ==================================================================
   caption               caption generation, token cross-entropy given [transcript;] video:
                         the primary loss for captioning (MELTR 5, A.1; UniVL's L_Decoder)
   joint                 video-text joint (MELTR 3.1): symmetric InfoNCE between mean-pooled
                         single-modal caption and video features, learned temperature
   align                 video-text alignment (MELTR 3.1): the cross encoder scores
                         (caption, video) pairs of the batch, symmetric cross-entropy with
                         the matching pair as target (UniVL's cross similarity, all B x B
                         pairs; by default ours scores each caption against its video and
                         3 others, ``align_negatives``)
   cmlm                  conditioned masked language model (MELTR 3.1): masked caption
                         tokens predicted from the cross encoder over [masked caption;
                         masked video]
   cmfm                  conditioned masked frame model (MELTR 3.1): the same cross pass
                         predicts each masked frame's feature, scored by NCE against every
                         real frame of the batch (UniVL's NCE over frames)
   caption_masked        advanced (MELTR 5, A.1, appendix G): caption generation conditioned
                         on the masked transcript and masked video
   joint_masked          advanced: the joint loss between the masked caption and masked video
   align_masked          advanced: the alignment loss between the masked caption and video
   ====================  ==================================================================

   MELTR section 5 adds "three advanced auxiliary loss functions ... which leverage masked
   language and masked visual features obtained by converting some of the language or visual
   tokens into [MASK] or random tokens"; its symbols are lost in our copy of the text. We take
   them to be the three objectives UniVL's release computes on the masked encoders' outputs
   besides CMLM/CMFM (its decoder and alignment losses on ``*_alm`` features), plus the joint
   loss on the same features. Masking (ours, BERT's recipe as MELTR 5 describes it): 15 % of
   real caption/transcript tokens and frames, at least one per row; of those 80 % become
   [MASK] (a zero frame), 10 % a random token (a frame from elsewhere in the batch), 10 %
   stay.
4. Decoding: greedy and beam search (beam size, length penalty, maximum length).

Attention is written out (softmax(QK^T / sqrt(d)) V) and the text encoder runs its eager
attention, because AID-FP-Lite (``training.aid_fp_lite``) differentiates the backbone's gradient once
more and torch's fused attention kernels cannot be differentiated twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mmdemo.checkpoint import trained_state_dict
from mmdemo.models.encoders import TextEncoder, TextEncoderConfig, train_top_layers
from mmdemo.models.losses import symmetric_cross_entropy

# The fixed order of the loss dict and of the loss vector MELTR reads; the primary loss first.
LOSS_NAMES = ("caption", "joint", "align", "cmlm", "cmfm", "caption_masked", "joint_masked", "align_masked")
PRIMARY_LOSS = "caption"
IGNORE = -100  # label of a position no loss reads (F.cross_entropy's ignore_index)
MELTR_PREFIX = "meltr."  # export tensors of the MELTR module beside the captioner (training.tasks.caption)


@dataclass(frozen=True)
class CaptionerConfig:
    # Video encoder input: open_clip ViT-B-32 frame embeddings (mmdemo.frame_features); UniVL
    # read 1024-d S3D features.
    frame_dim: int = 512
    max_frames: int = 48  # ours: longer clips keep this many evenly spread frames
    # Text encoder (UniVL: BERT-base, fine-tuned whole). The bundled MiniLM by default;
    # text.max_length bounds the transcript.
    text: TextEncoderConfig = field(default_factory=lambda: TextEncoderConfig(max_length=64, normalize=False))
    text_train_layers: int = 1  # fine-tuned top text layers; -1 = all (UniVL); N >= 0 exports only those
    max_caption_tokens: int = 32  # with [CLS] and [SEP]; sizes the decoder's position table
    # Width and depth of the video, cross and decoder stacks. UniVL: width 768 and 6 video,
    # 2 cross, 3 decoder layers; ours are sized to train on a CPU and grow by config.
    dim: int = 256
    heads: int = 4
    ff_dim: int = 1024
    video_layers: int = 2
    cross_layers: int = 2
    decoder_layers: int = 2
    dropout: float = 0.1
    # MELTR section 5 / BERT: mask 15 % of tokens and frames, 80 % [MASK], 10 % random, 10 % kept.
    mask_prob: float = 0.15
    mask_replace: float = 0.8
    mask_random: float = 0.1
    # Alignment: other videos each caption is scored against (and other captions each video
    # is); -1 = the whole batch, UniVL's B x B cross similarity, B^2 cross-encoder passes.
    align_negatives: int = 3
    init_temperature: float = 0.07  # joint loss (ours: UniVL does not state one); learned from here
    max_logit_scale: float = 100.0  # 1 / temperature is clamped here, as in CLIP

    def __post_init__(self) -> None:
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if not 0.0 < self.mask_prob < 1.0 or self.mask_replace + self.mask_random > 1.0:
            raise ValueError("mask_prob must be in (0, 1) and mask_replace + mask_random at most 1")
        if self.max_caption_tokens < 3 or self.max_frames < 1:
            raise ValueError("max_caption_tokens must be >= 3 and max_frames >= 1")


@dataclass(frozen=True)
class Hypothesis:
    """One decoded caption."""

    tokens: tuple[int, ...]  # generated token ids, without [CLS] and [SEP]
    logprob: float  # sum of the generated tokens' log-probabilities, the final [SEP] included
    score: float  # logprob / length ** length_penalty, length counting the [SEP]: what beams are ranked by


# ----------------------------------------------------------------------------------------------
# Inputs


def pad_frames(features: Sequence[np.ndarray | torch.Tensor], max_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-video (N_i, D) frame embeddings -> (B, F, D) float32 frames and a (B, F) bool mask.

    A video with more than ``max_frames`` frames keeps ``max_frames`` evenly spread ones.
    """
    if not features:
        raise ValueError("no videos given")
    picked = []
    for index, video in enumerate(features):
        video = torch.as_tensor(np.asarray(video, dtype=np.float32))
        if video.ndim != 2 or len(video) == 0:
            raise ValueError(f"video {index}: expected (frames, dim) embeddings with at least one frame, "
                             f"got shape {tuple(video.shape)}")
        if len(video) > max_frames:
            video = video[np.linspace(0, len(video) - 1, max_frames).round().astype(int)]
        picked.append(video)
    frames = torch.zeros(len(picked), max(len(v) for v in picked), picked[0].shape[1])
    mask = torch.zeros(frames.shape[:2], dtype=torch.bool)
    for i, video in enumerate(picked):
        frames[i, : len(video)] = video
        mask[i, : len(video)] = True
    return frames, mask


def mask_tokens(ids: torch.Tensor, attention_mask: torch.Tensor, special_ids: Sequence[int], mask_id: int,
                vocab_size: int, config: CaptionerConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of real, non-special tokens: (masked ids, labels), labels IGNORE where unmasked.

    Every row with a maskable token gets at least one masked (its loss is never empty).
    """
    maskable = attention_mask.bool() & ~torch.isin(ids, torch.tensor(list(special_ids), device=ids.device))
    chosen = _choose(maskable, config.mask_prob)
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    draw = torch.rand(ids.shape, device=ids.device)
    random_ids = torch.randint(vocab_size, ids.shape, device=ids.device)
    masked = torch.where(chosen & (draw < config.mask_replace), torch.full_like(ids, mask_id), ids)
    swap = chosen & (draw >= config.mask_replace) & (draw < config.mask_replace + config.mask_random)
    return torch.where(swap, random_ids, masked), labels


def mask_frames(frames: torch.Tensor, frame_mask: torch.Tensor, config: CaptionerConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The frame counterpart of ``mask_tokens``: (masked frames, (B, F) bool of the masked ones).

    A masked frame becomes zeros ([MASK]) 80 % of the time, a random real frame of the batch 10 %.
    """
    chosen = _choose(frame_mask, config.mask_prob)
    draw = torch.rand(frame_mask.shape, device=frames.device)
    real = frames[frame_mask]
    others = real[torch.randint(len(real), frame_mask.shape, device=frames.device)]
    masked = torch.where((chosen & (draw < config.mask_replace)).unsqueeze(-1), torch.zeros_like(frames), frames)
    swap = chosen & (draw >= config.mask_replace) & (draw < config.mask_replace + config.mask_random)
    return torch.where(swap.unsqueeze(-1), others, masked), chosen


def _choose(allowed: torch.Tensor, prob: float) -> torch.Tensor:
    """Each allowed position with probability ``prob``, plus one random allowed position in rows that drew none."""
    chosen = allowed & (torch.rand(allowed.shape, device=allowed.device) < prob)
    empty = allowed.any(dim=1) & ~chosen.any(dim=1)
    if empty.any():
        pick = torch.multinomial(allowed[empty].float(), 1).squeeze(1)
        chosen[empty.nonzero().squeeze(1), pick] = True
    return chosen


# ----------------------------------------------------------------------------------------------
# Transformer parts


class Attention(nn.Module):
    """Multi-head attention of queries x over keys/values y; ``mask`` (B, Sq or 1, Sk) True = may attend."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, Sq, d = x.shape
        h = self.heads
        q = self.q(x).view(B, Sq, h, d // h).transpose(1, 2)
        k, v = (t.view(B, -1, h, d // h).transpose(1, 2) for t in self.kv(y).split(d, dim=-1))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
        scores = scores.masked_fill(~mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        out = (self.drop(scores.softmax(dim=-1)) @ v).transpose(1, 2).reshape(B, Sq, d)
        return self.proj(out)


class Block(nn.Module):
    """Pre-norm transformer layer: self-attention, cross-attention (decoder only), feed-forward."""

    def __init__(self, config: CaptionerConfig, cross: bool = False) -> None:
        super().__init__()
        c = config
        self.norm1 = nn.LayerNorm(c.dim)
        self.attn = Attention(c.dim, c.heads, c.dropout)
        self.norm_cross = nn.LayerNorm(c.dim) if cross else None
        self.cross = Attention(c.dim, c.heads, c.dropout) if cross else None
        self.norm2 = nn.LayerNorm(c.dim)
        self.ff = nn.Sequential(nn.Linear(c.dim, c.ff_dim), nn.GELU(), nn.Linear(c.ff_dim, c.dim))
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, memory: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, h, mask))
        if self.cross is not None and self.norm_cross is not None:
            x = x + self.drop(self.cross(self.norm_cross(x), memory, memory_mask))
        return x + self.drop(self.ff(self.norm2(x)))


class Encoder(nn.Module):
    """A stack of bidirectional blocks over a padded sequence, with a final LayerNorm."""

    def __init__(self, config: CaptionerConfig, layers: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(config) for _ in range(layers))
        self.norm = nn.LayerNorm(config.dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keys = mask.unsqueeze(1)  # (B, 1, S): every position attends to the real ones
        for block in self.blocks:
            x = block(x, keys)
        return self.norm(x)


# ----------------------------------------------------------------------------------------------
# The model


class Captioner(nn.Module):
    """Video encoder, text encoder, cross encoder, caption decoder; ``forward`` returns the losses."""

    def __init__(self, config: CaptionerConfig, text: TextEncoder) -> None:
        super().__init__()
        c = self.config = config
        self.text = text
        text.backbone.set_attn_implementation("eager")  # twice differentiable (see the module docstring)
        train_top_layers(text.backbone, c.text_train_layers)
        tokenizer = text.tokenizer
        self.bos_id, self.eos_id = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.pad_id, self.mask_id = tokenizer.pad_token_id, tokenizer.mask_token_id
        self.vocab_size = int(text.backbone.config.vocab_size)

        self.frame_proj = nn.Linear(c.frame_dim, c.dim)
        self.frame_pos = nn.Embedding(c.max_frames, c.dim)
        self.video = Encoder(c, c.video_layers)
        self.text_proj = nn.Sequential(nn.Linear(text.dim, c.dim), nn.LayerNorm(c.dim))
        self.modality = nn.Embedding(2, c.dim)  # 0 = text, 1 = video, added at the cross encoder's input
        self.cross = Encoder(c, c.cross_layers)
        self.token = nn.Embedding(self.vocab_size, c.dim)  # the decoder's; also the MLM output layer
        self.token_pos = nn.Embedding(c.max_caption_tokens, c.dim)
        self.decoder = nn.ModuleList(Block(c, cross=True) for _ in range(c.decoder_layers))
        self.decoder_norm = nn.LayerNorm(c.dim)
        self.drop = nn.Dropout(c.dropout)
        # Heads of the pretext losses
        self.align_head = nn.Linear(c.dim, 1)
        self.mlm_head = nn.Sequential(nn.Linear(c.dim, c.dim), nn.GELU(), nn.LayerNorm(c.dim))
        self.mlm_bias = nn.Parameter(torch.zeros(self.vocab_size))
        self.frame_head = nn.Linear(c.dim, c.frame_dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / c.init_temperature)))
        for name, module in self.named_modules():
            if name.partition(".")[0] != "text":  # the text encoder keeps its (pretrained) weights
                _init_weights(module)

    @classmethod
    def from_config(cls, config: CaptionerConfig = CaptionerConfig(), pretrained: bool = True) -> Captioner:
        """Pretrained text weights, or random ones from the same architecture (fast offline tests)."""
        return cls(config, TextEncoder.from_config(config.text, pretrained=pretrained))

    @property
    def device(self) -> torch.device:
        return self.frame_proj.weight.device

    @property
    def special_ids(self) -> tuple[int, ...]:
        return tuple(self.text.tokenizer.all_special_ids)

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """All weights, less the frozen text layers when only the top ones were fine-tuned."""
        return trained_state_dict(self, "text.backbone.")

    # -- inputs ----------------------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
        """``[CLS] text [SEP]`` ids and attention mask, padded to the longest, cut at ``max_length``."""
        batch = self.text.tokenizer([" ".join(t.split()) for t in texts], padding=True, truncation=True,
                                    max_length=max_length, return_tensors="pt")
        return {"input_ids": batch["input_ids"].to(self.device), "attention_mask": batch["attention_mask"].to(self.device)}

    def tokenize_captions(self, captions: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.tokenize(captions, self.config.max_caption_tokens)

    def tokenize_transcripts(self, transcripts: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.tokenize(transcripts, self.config.text.max_length)

    def pad_frames(self, features: Sequence[np.ndarray | torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        frames, mask = pad_frames(features, self.config.max_frames)
        return frames.to(self.device), mask.to(self.device)

    # -- the four modules ------------------------------------------------------------------------

    def encode_video(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """(B, F, frame_dim) -> (B, F, dim)."""
        positions = torch.arange(frames.shape[1], device=frames.device)
        x = self.drop(self.frame_proj(frames) + self.frame_pos(positions))
        return self.video(x, frame_mask)

    def encode_text(self, ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids -> (B, L, dim)."""
        hidden = self.text.backbone(input_ids=ids, attention_mask=attention_mask).last_hidden_state
        return self.text_proj(hidden)

    def encode_cross(self, text: torch.Tensor | None, text_mask: torch.Tensor | None,
                     video: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[text; video] (or the video alone) through the cross encoder: (B, S, dim) and its (B, S) mask."""
        video = video + self.modality.weight[1]
        if text is None or text_mask is None:
            return self.cross(video, frame_mask), frame_mask
        x = torch.cat([text + self.modality.weight[0], video], dim=1)
        mask = torch.cat([text_mask.bool(), frame_mask], dim=1)
        return self.cross(x, mask), mask

    def decode(self, ids: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder: (B, T) input ids -> (B, T, vocab) next-token logits."""
        T = ids.shape[1]
        positions = torch.arange(T, device=ids.device)
        x = self.drop(self.token(ids) + self.token_pos(positions))
        causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril().unsqueeze(0)
        keys = memory_mask.unsqueeze(1)
        for block in self.decoder:
            x = block(x, causal, memory, keys)
        return F.linear(self.decoder_norm(x), self.token.weight)

    # -- losses ----------------------------------------------------------------------------------

    def caption_loss(self, caption_ids: torch.Tensor, caption_mask: torch.Tensor, memory: torch.Tensor,
                     memory_mask: torch.Tensor) -> torch.Tensor:
        """Token cross-entropy of ``[CLS] caption`` -> ``caption [SEP]`` (padding ignored)."""
        targets = caption_ids[:, 1:].masked_fill(~caption_mask[:, 1:].bool(), IGNORE)
        logits = self.decode(caption_ids[:, :-1], memory, memory_mask)
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE)

    def joint_loss(self, text: torch.Tensor, text_mask: torch.Tensor, video: torch.Tensor,
                   frame_mask: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE between mean-pooled single-modal caption and video features."""
        t = F.normalize(_mean(text, text_mask.bool()), dim=-1)
        v = F.normalize(_mean(video, frame_mask), dim=-1)
        scale = self.log_scale.exp().clamp(max=self.config.max_logit_scale)
        return symmetric_cross_entropy(scale * t @ v.T)

    def align_loss(self, text: torch.Tensor, text_mask: torch.Tensor, video: torch.Tensor,
                   frame_mask: torch.Tensor) -> torch.Tensor:
        """Cross-encoder scores of caption i with videos i, i+1, ..., i+k (mod B), k = ``align_negatives``:
        cross-entropy picking video i among them, and video j's picking caption j among
        captions j, j-1, ..., j-k (the same pairs), averaged. k = B - 1 is the full B x B matrix."""
        B, k = text.shape[0], self.config.align_negatives
        k = B - 1 if k < 0 else min(k, B - 1)
        shifts = torch.arange(k + 1, device=text.device)
        rows = torch.arange(B, device=text.device).repeat_interleave(k + 1)  # caption of each pair
        cols = (rows + shifts.repeat(B)) % B  # its video
        cross, _ = self.encode_cross(text[rows], text_mask[rows], video[cols], frame_mask[cols])
        by_caption = self.align_head(cross[:, 0]).view(B, k + 1).float()  # [i, s]: caption i, video i + s
        videos = torch.arange(B, device=text.device)[:, None]
        by_video = by_caption[(videos - shifts) % B, shifts]  # [j, s]: video j, caption j - s
        targets = torch.zeros(B, dtype=torch.long, device=text.device)
        return (F.cross_entropy(by_caption, targets) + F.cross_entropy(by_video, targets)) / 2

    def cmlm_loss(self, text_cross: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the masked caption tokens only (``labels`` IGNORE elsewhere)."""
        masked = labels != IGNORE
        logits = F.linear(self.mlm_head(text_cross[masked]), self.token.weight, self.mlm_bias)
        return F.cross_entropy(logits.float(), labels[masked])

    def cmfm_loss(self, video_cross: torch.Tensor, frames: torch.Tensor, frame_mask: torch.Tensor,
                  masked: torch.Tensor) -> torch.Tensor:
        """NCE over frames (UniVL): each masked frame's prediction must pick its own original
        feature out of every real frame in the batch."""
        predicted = self.frame_head(video_cross).flatten(0, 1).float()  # (B*F, frame_dim)
        logits = predicted @ frames.flatten(0, 1).float().T  # (B*F, B*F)
        logits = logits.masked_fill(~frame_mask.flatten().unsqueeze(0), torch.finfo(logits.dtype).min)
        targets = torch.arange(len(logits), device=logits.device)
        return F.cross_entropy(logits[masked.flatten()], targets[masked.flatten()])

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor, caption_ids: torch.Tensor,
                caption_mask: torch.Tensor, transcript_ids: torch.Tensor | None = None,
                transcript_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Every loss of ``LOSS_NAMES`` on one batch, as scalars in that order.

        ``frames`` (B, F, frame_dim) with ``frame_mask`` (B, F) bool (``pad_frames``); captions
        and transcripts as ``tokenize_*`` gives them; no transcript = the V setting.
        """
        video = self.encode_video(frames, frame_mask)
        caption = self.encode_text(caption_ids, caption_mask)
        masked_ids, labels = mask_tokens(caption_ids, caption_mask, self.special_ids, self.mask_id, self.vocab_size, self.config)
        masked_frames, frame_labels = mask_frames(frames, frame_mask, self.config)
        masked_video = self.encode_video(masked_frames, frame_mask)
        masked_caption = self.encode_text(masked_ids, caption_mask)
        transcript = masked_transcript = None
        if transcript_ids is not None and transcript_mask is not None:
            transcript = self.encode_text(transcript_ids, transcript_mask)
            masked_transcript_ids, _ = mask_tokens(transcript_ids, transcript_mask, self.special_ids, self.mask_id,
                                                   self.vocab_size, self.config)
            masked_transcript = self.encode_text(masked_transcript_ids, transcript_mask)

        memory, memory_mask = self.encode_cross(transcript, transcript_mask, video, frame_mask)
        cross, _ = self.encode_cross(masked_caption, caption_mask, masked_video, frame_mask)
        text_cross, video_cross = cross.split([caption_ids.shape[1], frames.shape[1]], dim=1)
        masked_memory, _ = self.encode_cross(masked_transcript, transcript_mask, masked_video, frame_mask)
        losses = {
            "caption": self.caption_loss(caption_ids, caption_mask, memory, memory_mask),
            "joint": self.joint_loss(caption, caption_mask, video, frame_mask),
            "align": self.align_loss(caption, caption_mask, video, frame_mask),
            "cmlm": self.cmlm_loss(text_cross, labels),
            "cmfm": self.cmfm_loss(video_cross, frames, frame_mask, frame_labels),
            "caption_masked": self.caption_loss(caption_ids, caption_mask, masked_memory, memory_mask),
            "joint_masked": self.joint_loss(masked_caption, caption_mask, masked_video, frame_mask),
            "align_masked": self.align_loss(masked_caption, caption_mask, masked_video, frame_mask),
        }
        return {name: losses[name] for name in LOSS_NAMES}

    # -- decoding --------------------------------------------------------------------------------

    def memory(self, frames: torch.Tensor, frame_mask: torch.Tensor, transcript_ids: torch.Tensor | None = None,
               transcript_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """What the decoder attends to: the cross encoder over [transcript;] video."""
        video = self.encode_video(frames, frame_mask)
        transcript = None if transcript_ids is None or transcript_mask is None else self.encode_text(transcript_ids, transcript_mask)
        return self.encode_cross(transcript, transcript_mask, video, frame_mask)

    def _max_length(self, max_length: int | None) -> int:
        limit = self.config.max_caption_tokens - 1  # the decoder's input is [CLS] + all but the last token
        if max_length is None:
            return limit
        if not 1 <= max_length <= limit:
            raise ValueError(f"max_length must be in 1..{limit} (max_caption_tokens - 1), got {max_length}")
        return max_length

    @torch.no_grad()
    def greedy(self, frames: torch.Tensor, frame_mask: torch.Tensor, transcript_ids: torch.Tensor | None = None,
               transcript_mask: torch.Tensor | None = None, max_length: int | None = None,
               length_penalty: float = 1.0) -> list[Hypothesis]:
        """The most likely token at every step, for the whole batch at once; stops at [SEP] or ``max_length`` tokens."""
        memory, memory_mask = self.memory(frames, frame_mask, transcript_ids, transcript_mask)
        B = memory.shape[0]
        ids = torch.full((B, 1), self.bos_id, dtype=torch.long, device=memory.device)
        logprob = torch.zeros(B, device=memory.device)
        length = torch.zeros(B, dtype=torch.long, device=memory.device)
        done = torch.zeros(B, dtype=torch.bool, device=memory.device)
        for _ in range(self._max_length(max_length)):
            step = self.decode(ids, memory, memory_mask)[:, -1].float().log_softmax(dim=-1)
            best, token = step.max(dim=-1)
            token = token.masked_fill(done, self.pad_id)
            logprob += best.masked_fill(done, 0.0)
            length += (~done).long()
            done |= token == self.eos_id
            ids = torch.cat([ids, token[:, None]], dim=1)
            if done.all():
                break
        out = []
        for row, lp, n in zip(ids[:, 1:].tolist(), logprob.tolist(), length.tolist()):
            tokens = tuple(t for t in row[:n] if t != self.eos_id)
            out.append(Hypothesis(tokens, lp, lp / max(n, 1) ** length_penalty))
        return out

    @torch.no_grad()
    def beam_search(self, frames: torch.Tensor, frame_mask: torch.Tensor, transcript_ids: torch.Tensor | None = None,
                    transcript_mask: torch.Tensor | None = None, beam_size: int = 4, max_length: int | None = None,
                    length_penalty: float = 1.0) -> list[list[Hypothesis]]:
        """Per video, up to ``beam_size`` captions, best first.

        Standard beam search: each step extends the live beams by every token and keeps the
        ``beam_size`` best continuations; a [SEP] among the top ``beam_size`` candidates ends a
        hypothesis. It stops once ``beam_size`` hypotheses have ended (or after ``max_length``
        tokens, when the live beams end as they are); hypotheses are ranked by
        ``logprob / length ** length_penalty`` (0 = raw log-probability, larger favours longer).
        """
        if beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {beam_size}")
        memory, memory_mask = self.memory(frames, frame_mask, transcript_ids, transcript_mask)
        steps = self._max_length(max_length)
        return [self._beam(memory[i : i + 1], memory_mask[i : i + 1], beam_size, steps, length_penalty)
                for i in range(memory.shape[0])]

    def _beam(self, memory: torch.Tensor, memory_mask: torch.Tensor, beam_size: int, steps: int,
              length_penalty: float) -> list[Hypothesis]:
        def ended(tokens: list[int], logprob: float, length: int) -> Hypothesis:
            return Hypothesis(tuple(tokens), logprob, logprob / length ** length_penalty)

        alive: list[tuple[list[int], float]] = [([], 0.0)]  # (tokens so far, their log-probability)
        finished: list[Hypothesis] = []
        for _ in range(steps):
            ids = torch.tensor([[self.bos_id, *tokens] for tokens, _ in alive], device=memory.device)
            n = len(alive)
            step = self.decode(ids, memory.expand(n, -1, -1), memory_mask.expand(n, -1))[:, -1].float().log_softmax(dim=-1)
            totals = torch.tensor([lp for _, lp in alive], device=memory.device)[:, None] + step
            top, index = totals.flatten().topk(min(2 * beam_size, totals.numel()))
            survivors = []
            for rank, (total, flat) in enumerate(zip(top.tolist(), index.tolist())):
                beam, token = divmod(flat, self.vocab_size)
                tokens = alive[beam][0]
                if token == self.eos_id:
                    if rank < beam_size:
                        finished.append(ended(tokens, total, len(tokens) + 1))
                else:
                    survivors.append(([*tokens, token], total))
                if len(survivors) == beam_size:
                    break
            alive = survivors
            if len(finished) >= beam_size:
                break
        else:
            finished += [ended(tokens, lp, len(tokens)) for tokens, lp in alive]
        return sorted(finished, key=lambda h: h.score, reverse=True)[:beam_size]

    def decode_tokens(self, tokens: Sequence[int]) -> str:
        return self.text.tokenizer.decode(list(tokens), skip_special_tokens=True, clean_up_tokenization_spaces=True)

    @torch.no_grad()
    def caption(self, features: Sequence[np.ndarray | torch.Tensor], transcripts: Sequence[str] | None = None,
                beam_size: int = 1, length_penalty: float = 1.0, max_length: int | None = None) -> list[list[tuple[str, float]]]:
        """Captions of videos given as frame embeddings (and transcripts for V+T): per video,
        ``(text, score)`` beams best first; ``beam_size`` 1 decodes greedily."""
        frames, frame_mask = self.pad_frames(features)
        transcript = self.tokenize_transcripts(transcripts) if transcripts is not None else {}
        ids, mask = transcript.get("input_ids"), transcript.get("attention_mask")
        if beam_size == 1:
            beams = [[h] for h in self.greedy(frames, frame_mask, ids, mask, max_length, length_penalty)]
        else:
            beams = self.beam_search(frames, frame_mask, ids, mask, beam_size, max_length, length_penalty)
        return [[(self.decode_tokens(h.tokens), h.score) for h in video] for video in beams]


def _init_weights(module: nn.Module) -> None:
    """GPT-2's initialisation (as nanoGPT): N(0, 0.02) weights and zero biases; keeps the tied
    vocabulary logits small at the start."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def _mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def loss_vector(losses: dict[str, torch.Tensor]) -> torch.Tensor:
    """The (T,) tensor MELTR reads, in ``LOSS_NAMES`` order."""
    return torch.stack([losses[name] for name in LOSS_NAMES])
