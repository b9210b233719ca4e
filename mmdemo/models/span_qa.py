"""Span QA: an extractive reader that answers a question with a span of a text.

Paper: "pretrained vs scratch" (../shared/papers/pretrained-vs-scratch-hrnet-distilbert.txt),
section 3.2: DistilBERT with start/end heads fine-tuned on SQuAD, pretrained or from random
weights. Here the encoder is the bundled MiniLM or any Hugging Face encoder. Read top to bottom:

1. Windows: ``[CLS] question [SEP] context [SEP]``. A context longer than one window is cut
   into windows that overlap by ``doc_stride`` tokens (the tokenizer's overflow), so no part of
   the context is ever dropped; only an over-long question is refused.
2. Head: Linear(hidden, 2) gives every token a start and an end logit (Hugging Face's
   ``qa_outputs``).
3. Loss: the mean of the start and end cross-entropies. A training window that does not hold
   the answer points both at [CLS], as in Hugging Face's SQuAD recipe.
4. Decoding (``best_spans``): the best (start, end) with start <= end, at most
   ``max_answer_tokens`` long, both inside the window's context, scored start + end logit;
   windows are compared on that score and token spans become character offsets, snapped to
   whole words (``snap_to_words``: a span that starts or ends inside a word takes all of it,
   and punctuation or spaces at its edges are dropped), so no answer reads "onds" or ". so".
5. Scratch (``pretrained=False``): the same architecture with random weights, and the whole
   encoder trained and exported. ``--init scratch`` then draws every weight again from section
   3.2.2's truncated normal (``training.scratch``).

Subtitles are read through ``Transcript``: sentences joined into one context, so a span of
characters maps back to the sentences (and so the times) it covers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mmdemo.checkpoint import trained_state_dict
from mmdemo.errors import InputError
from mmdemo.models.encoders import BUNDLED_MINILM, drop_pooler, hf_backbone, train_top_layers



@dataclass(frozen=True)
class SpanQAConfig:
    # Section 3.2.2: the paper's encoder is DistilBERT; "minilm" is the bundled all-MiniLM-L6-v2,
    # anything else a Hugging Face id or local folder (offline: it must be in the local cache).
    encoder: str = BUNDLED_MINILM
    encoder_layers: int = 0  # 0 = all layers; N keeps the first N (small test models; ours)
    # Top encoder layers fine-tuned; -1 = the whole encoder (the paper). With N >= 0 the rest
    # stays pretrained and exports hold only what was trained (a MiniLM reader in a few MB).
    train_layers: int = -1
    # Section 3.2.2: "we ... went with the default values as suggested in its configuration
    # file", i.e. the Hugging Face SQuAD recipe: 384-token windows overlapping by 128 tokens,
    # answers of at most 30 tokens. Encoders with absolute positions cap max_length at their table.
    max_length: int = 384
    doc_stride: int = 128  # tokens shared by consecutive windows of one context
    max_answer_tokens: int = 30
    # Trainer (section 3.2.2): batch size 16, lr 2e-5, 2-4 epochs pretrained, 4-10 from scratch.


# ----------------------------------------------------------------------------------------------
# Decoding


def best_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, context: torch.Tensor,
               max_answer_tokens: int, k: int = 1) -> list[tuple[int, int, float]]:
    """Top-k token spans (start, end inclusive, score) of one window, best first.

    Valid: start <= end, end - start < ``max_answer_tokens``, both tokens in ``context``
    (a bool mask). Score: start logit + end logit.
    """
    n = start_logits.shape[0]
    scores = start_logits.float()[:, None] + end_logits.float()[None, :]
    ones = torch.ones(n, n, dtype=torch.bool, device=scores.device)
    valid = ones.triu() & ~ones.triu(max_answer_tokens) & context[:, None] & context[None, :]
    flat = scores.masked_fill(~valid, -torch.inf).flatten()
    top = flat.topk(min(k, int(valid.sum())))
    return [(i // n, i % n, float(s)) for s, i in zip(top.values.tolist(), top.indices.tolist())]


LEADING_JUNK = ".,;:!?)]}%'\"-–— \t\r\n"  # an answer never starts with these
TRAILING_JUNK = ",;:([{-–— \t\r\n"  # nor ends with these ("." and ")" may close an answer)


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Characters [start, end) widened to whole words, then trimmed of edge punctuation and
    spaces; (start, start) when nothing but punctuation is left."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    while start < end and text[start] in LEADING_JUNK:
        start += 1
    while end > start and text[end - 1] in TRAILING_JUNK:
        end -= 1
    return start, end


@dataclass(frozen=True)
class SpanAnswer:
    text: str
    start: int  # character offset into the context
    end: int  # character offset, exclusive
    score: float  # start logit + end logit; comparable across windows of one model


# ----------------------------------------------------------------------------------------------
# Transcripts: subtitle sentences as one context


@dataclass(frozen=True)
class Transcript:
    """Sentences joined by single spaces into one reader context, each with its char range."""

    text: str
    offsets: tuple[tuple[int, int], ...]  # (start, end) characters of each sentence in text

    @classmethod
    def join(cls, sentences: Sequence[str]) -> "Transcript":
        offsets, position = [], 0
        for sentence in sentences:
            offsets.append((position, position + len(sentence)))
            position += len(sentence) + 1
        return cls(" ".join(sentences), tuple(offsets))

    def sentences_in(self, start: int, end: int) -> tuple[int, int]:
        """(first, last) sentences that the characters [start, end) touch."""
        touched = [i for i, (s, e) in enumerate(self.offsets) if s < end and e > start]
        if not touched:
            raise ValueError(f"characters {start}-{end} touch no sentence")
        return touched[0], touched[-1]

    def char_span(self, first: int, last: int) -> tuple[int, int]:
        """Characters of sentences first..last (inclusive)."""
        return self.offsets[first][0], self.offsets[last][1]


@dataclass(frozen=True)
class SentenceSpan:
    """A reader's answer over subtitle sentences."""

    text: str  # the extracted characters
    first: int  # first sentence it touches
    last: int  # last sentence it touches (inclusive)
    score: float


# ----------------------------------------------------------------------------------------------
# The model


@dataclass
class Windows:
    """A batch of tokenized (question, context) windows; ``example[i]`` owns window i."""

    input_ids: torch.Tensor  # (W, L)
    attention_mask: torch.Tensor  # (W, L)
    token_type_ids: torch.Tensor | None  # (W, L) 0 = question, 1 = context; None if unused
    context: torch.Tensor  # (W, L) bool: a context token
    offsets: torch.Tensor  # (W, L, 2) character range of each token in its context
    example: list[int]


@dataclass
class SpanQAOutput:
    start_logits: torch.Tensor  # (W, L)
    end_logits: torch.Tensor
    loss: torch.Tensor | None = None


class SpanQA(nn.Module):
    def __init__(self, config: SpanQAConfig, encoder: nn.Module, tokenizer: Any) -> None:
        super().__init__()
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(f"{config.encoder!r} has no fast tokenizer; span QA needs its character offsets")
        self.config = config
        self.encoder = drop_pooler(encoder)
        self.tokenizer = tokenizer
        enc_cfg = encoder.config
        self.qa_head = nn.Linear(enc_cfg.hidden_size, 2)  # start and end logit per token
        self.max_length = config.max_length
        if getattr(enc_cfg, "position_biased_input", True) and getattr(enc_cfg, "max_position_embeddings", 0):
            self.max_length = min(self.max_length, enc_cfg.max_position_embeddings)
        self.use_token_types = getattr(enc_cfg, "type_vocab_size", 0) >= 2
        train_top_layers(encoder, config.train_layers)

    @classmethod
    def from_config(cls, config: SpanQAConfig = SpanQAConfig(), pretrained: bool = True) -> "SpanQA":
        """Pretrained encoder weights, or random ones of the same architecture; a random encoder is
        trained and exported whole (its lower layers could never be rebuilt from anywhere)."""
        if not pretrained:
            config = replace(config, train_layers=-1)
        return cls(config, *hf_backbone(config.encoder, pretrained, config.encoder_layers))

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """What training changed: everything, or (top layers only) all but the frozen encoder."""
        return trained_state_dict(self, "encoder.")

    @property
    def device(self) -> torch.device:
        return self.qa_head.weight.device

    # -- inputs ---------------------------------------------------------------------------------

    def tokenize(self, questions: Sequence[str], contexts: Sequence[str]) -> Windows:
        """Every window of every (question, context) pair, padded to the longest window."""
        question_room = max(len(ids) for ids in self.tokenizer(list(questions), add_special_tokens=False)["input_ids"])
        room = self.max_length - question_room - 3  # [CLS] q [SEP] ... [SEP]
        if room < 16:
            raise InputError(f"The question is too long for the reader ({question_room} tokens; "
                             f"it reads {self.max_length} at a time). Please shorten it.")
        stride = min(self.config.doc_stride, room // 2)  # a long question leaves less room to overlap
        enc = self.tokenizer(list(questions), list(contexts), truncation="only_second", max_length=self.max_length,
                             stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                             padding=True, return_tensors="pt")
        context = torch.tensor([[s == 1 for s in enc.sequence_ids(i)] for i in range(len(enc["input_ids"]))],
                               dtype=torch.bool).reshape(enc["input_ids"].shape)
        types = enc.get("token_type_ids") if self.use_token_types else None
        return Windows(enc["input_ids"], enc["attention_mask"], types, context, enc["offset_mapping"],
                       enc["overflow_to_sample_mapping"].tolist())

    # -- forward --------------------------------------------------------------------------------

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                start_positions: torch.Tensor | None = None, end_positions: torch.Tensor | None = None) -> SpanQAOutput:
        """Start/end logits per token; with target positions also the loss (mean of both CEs)."""
        kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
        start, end = self.qa_head(hidden).float().unbind(-1)
        out = SpanQAOutput(start, end)
        if start_positions is not None and end_positions is not None:
            out.loss = 0.5 * (F.cross_entropy(start, start_positions) + F.cross_entropy(end, end_positions))
        return out

    # -- answering ------------------------------------------------------------------------------

    @torch.inference_mode()
    def answer(self, question: str, context: str, top_k: int = 1, allow_null: bool = False,
               windows_per_batch: int = 16) -> list[SpanAnswer]:
        """The ``top_k`` best distinct spans of ``context``, best first, read window by window.

        ``allow_null`` (SQuAD v2): "no answer" competes as an empty span scored by the [CLS]
        start + end logits (the lowest over windows, as Hugging Face's recipe).
        """
        if not question.strip():
            raise InputError("The question is empty.")
        if not context.strip():
            raise InputError("There is no text to read the answer from.")
        windows = self.tokenize([question], [context])
        found: dict[tuple[int, int], float] = {}
        null = torch.inf
        for lo in range(0, len(windows.example), windows_per_batch):
            part = slice(lo, lo + windows_per_batch)
            types = windows.token_type_ids[part].to(self.device) if windows.token_type_ids is not None else None
            out = self(windows.input_ids[part].to(self.device), windows.attention_mask[part].to(self.device), types)
            for w, (starts, ends) in enumerate(zip(out.start_logits.cpu(), out.end_logits.cpu()), start=lo):
                null = min(null, float(starts[0] + ends[0]))
                for s, e, score in best_spans(starts, ends, windows.context[w], self.config.max_answer_tokens, top_k):
                    chars = snap_to_words(context, int(windows.offsets[w, s, 0]), int(windows.offsets[w, e, 1]))
                    if chars[1] > chars[0]:  # a span of punctuation only is no answer
                        found[chars] = max(score, found.get(chars, -torch.inf))  # seen twice: the better score
        answers = [SpanAnswer(context[a:b], a, b, score) for (a, b), score in found.items()]
        if allow_null:
            answers.append(SpanAnswer("", 0, 0, null))
        return sorted(answers, key=lambda span: -span.score)[:top_k]

    def answer_sentences(self, question: str, sentences: Sequence[str], top_k: int = 1) -> list[SentenceSpan]:
        """Read subtitle sentences as one transcript; each answer with the sentences it touches."""
        transcript = Transcript.join(sentences)
        return [SentenceSpan(span.text, *transcript.sentences_in(span.start, span.end), span.score)
                for span in self.answer(question, transcript.text, top_k=top_k) if span.end > span.start]
