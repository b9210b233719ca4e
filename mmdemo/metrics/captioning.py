"""Caption metrics the way coco-caption (pycocoevalcap) defines them: BLEU-1..4, ROUGE-L, CIDEr-D,
and an exact-match METEOR that is not coco-caption's.

Every function takes ``candidates`` (one generated caption per clip) and ``references`` (the
clip's reference captions, one or more) and returns a corpus score multiplied by 100, the
scale of the captioning papers' tables (MELTR Table 4 reports coco-caption's CIDEr 1.90 as 190).
BLEU, ROUGE-L and CIDEr-D equal pycocoevalcap's scorers on the same tokens
(tests/metrics/test_captioning_parity.py), so they compare with the papers' figures; BLEU differs
only where an n-gram order has no match at all (0 here, coco-caption's smoothing leaves < 0.1).
METEOR does not (see ``meteor``): read it against other runs of this code, not against papers.

Tokenisation (``tokenize``): lower case, words and numbers kept, punctuation dropped, as
coco-caption's PTB tokenizer (Java, not run here) does for captions, except that contractions
stay one token ("don't"; PTB splits it into "do n't").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

Tokens = list[str]
ROUGE_BETA = 1.2  # coco-caption's ROUGE-L: F-measure weighting recall by beta = 1.2
METEOR_ALPHA = 0.9  # Banerjee & Lavie 2005: Fmean = PR / (alpha P + (1 - alpha) R) = 10PR / (R + 9P)
METEOR_PENALTY_WEIGHT = 0.5  # Banerjee & Lavie 2005: penalty = 0.5 (chunks / matches)^3
METEOR_PENALTY_EXPONENT = 3
CIDER_N = 4  # CIDEr-D: n-grams of n = 1..4, weighted uniformly
CIDER_SIGMA = 6.0  # CIDEr-D: gaussian length penalty exp(-(len_c - len_r)^2 / (2 sigma^2))
CIDER_SCALE = 10.0  # CIDEr-D: scores are multiplied by 10 (so 10 is the maximum)


def tokenize(text: str) -> Tokens:
    return re.findall(r"\w+(?:'\w+)*", text.lower())


def _prepare(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[list[Tokens], list[list[Tokens]]]:
    if isinstance(candidates, str) or len(candidates) != len(references):
        raise ValueError("one candidate string per clip and one list of references per clip are needed "
                         f"(got {len(candidates)} candidates, {len(references)} reference lists)")
    for index, refs in enumerate(references):
        if isinstance(refs, str) or not refs:
            raise ValueError(f"clip {index}: references must be a non-empty list of strings")
    return [tokenize(c) for c in candidates], [[tokenize(r) for r in refs] for refs in references]


def _ngrams(tokens: Tokens, n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(candidates: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4) -> list[float]:
    """Corpus BLEU-1..max_n (Papineni et al. 2002), as coco-caption's "closest" option.

    p_n = sum over clips of n-gram counts clipped by their largest count in any one reference,
    divided by the candidates' n-gram total; BLEU-N = BP * exp(mean_{n<=N} log p_n), 0 when some
    p_n is 0 (coco-caption adds a 1e-15 smoothing instead). BP = exp(1 - r/c) if c < r else 1,
    c the candidates' total length and r the sum over clips of the reference length closest to
    the candidate's (the shorter one on a tie).
    """
    cands, refs = _prepare(candidates, references)
    matched, total = np.zeros(max_n), np.zeros(max_n)
    c_len = r_len = 0
    for cand, clip_refs in zip(cands, refs):
        c_len += len(cand)
        r_len += min((abs(len(r) - len(cand)), len(r)) for r in clip_refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(cand, n)
            most: Counter[tuple[str, ...]] = Counter()
            for ref in clip_refs:
                most |= _ngrams(ref, n)  # | keeps the larger count of each n-gram
            matched[n - 1] += sum(min(count, most[gram]) for gram, count in counts.items())
            total[n - 1] += max(len(cand) - n + 1, 0)
    if c_len == 0:
        return [0.0] * max_n
    brevity = 1.0 if c_len >= r_len else math.exp(1.0 - r_len / c_len)
    scores, log_sum = [], 0.0
    for n in range(max_n):
        if matched[n] == 0:
            scores.extend([0.0] * (max_n - n))
            break
        log_sum += math.log(matched[n] / total[n])
        scores.append(100.0 * brevity * math.exp(log_sum / (n + 1)))
    return scores


def _alignment_chunks(cand: Tokens, ref: Tokens) -> tuple[int, int]:
    """(matches, chunks) of a maximum exact-match unigram alignment with few chunks.

    Longest runs of still-unaligned equal words are aligned first, until no equal pair is left:
    this aligns every matchable word (the most matches) and favours contiguous runs, an
    approximation of METEOR's "fewest crossings" choice among maximum alignments. Chunks are
    then counted on the result: runs adjacent and in order in both candidate and reference.
    """
    free_c, free_r = [True] * len(cand), [True] * len(ref)
    pairs: list[tuple[int, int]] = []
    while True:
        best = (0, 0, 0)  # (length, i, j)
        for i in range(len(cand)):
            for j in range(len(ref)):
                k = 0
                while (i + k < len(cand) and j + k < len(ref) and free_c[i + k] and free_r[j + k]
                       and cand[i + k] == ref[j + k]):
                    k += 1
                if k > best[0]:
                    best = (k, i, j)
        k, i, j = best
        if k == 0:
            break
        for step in range(k):
            free_c[i + step] = free_r[j + step] = False
            pairs.append((i + step, j + step))
    pairs.sort()
    chunks = sum(1 for index, (i, j) in enumerate(pairs)
                 if index == 0 or (i, j) != (pairs[index - 1][0] + 1, pairs[index - 1][1] + 1))
    return len(pairs), chunks


def _meteor_one(cand: Tokens, ref: Tokens) -> float:
    matches, chunks = _alignment_chunks(cand, ref)
    if matches == 0:
        return 0.0
    precision, recall = matches / len(cand), matches / len(ref)
    fmean = precision * recall / (METEOR_ALPHA * precision + (1 - METEOR_ALPHA) * recall)
    penalty = METEOR_PENALTY_WEIGHT * (chunks / matches) ** METEOR_PENALTY_EXPONENT
    return fmean * (1.0 - penalty)


def meteor(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """An exact-match METEOR: the original formula (Banerjee & Lavie 2005) on exact word matches only,
    averaged over clips. Not comparable with the METEOR figures of captioning papers.

    What it does: per reference, P = m / |candidate| and R = m / |reference| for m aligned
    unigrams, Fmean = 10PR / (R + 9P), the fragmentation penalty 0.5 (chunks / m)^3, score =
    Fmean (1 - penalty); a clip scores its best reference; the corpus score is the mean over clips.

    What coco-caption's METEOR (METEOR 1.5, Java, ``-l en -norm``) does and this does not:
    stem matches (Snowball), WordNet synonym matches and paraphrase-table matches, each weighted;
    function words weighted apart from content words; METEOR 1.5's parameters tuned for English
    (Denkowski & Lavie 2014) instead of the 2005 ones above (alpha 0.9, penalty 0.5 (chunks / m)^3);
    an alignment searched for the fewest crossings (ours is greedy, longest
    runs first); and a corpus score from statistics pooled over all clips rather than a mean of
    clip scores. Its numbers therefore differ from coco-caption's, mostly lower (no credit for
    "runs" against "running" or for synonyms).
    """
    cands, refs = _prepare(candidates, references)
    return 100.0 * float(np.mean([max(_meteor_one(c, r) for r in rs) for c, rs in zip(cands, refs)]))


def _lcs(a: Tokens, b: Tokens) -> int:
    """Length of the longest common subsequence (the textbook dynamic programme)."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, start=1):
        for j, y in enumerate(b, start=1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def rouge_l(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """ROUGE-L as coco-caption computes it (Lin 2004, longest common subsequence), mean over clips.

    Per clip: P = max over references of LCS / |candidate|, R = max of LCS / |reference| (each
    maximised on its own), score = (1 + beta^2) P R / (R + beta^2 P) with beta = 1.2, 0 if P or R is 0.
    """
    cands, refs = _prepare(candidates, references)
    scores = []
    for cand, clip_refs in zip(cands, refs):
        lcs = [_lcs(cand, ref) for ref in clip_refs]
        precision = max(x / len(cand) if cand else 0.0 for x in lcs)
        recall = max(x / len(ref) if ref else 0.0 for x, ref in zip(lcs, clip_refs))
        if precision == 0 or recall == 0:
            scores.append(0.0)
        else:
            scores.append((1 + ROUGE_BETA**2) * precision * recall / (recall + ROUGE_BETA**2 * precision))
    return 100.0 * float(np.mean(scores))


def cider_d(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """CIDEr-D (Vedantam et al. 2015) as coco-caption's scorer, mean over clips.

    Each sentence becomes, for n = 1..4, a tf-idf vector g_n: an n-gram's count times
    log(N) - log(max(1, df)), where N is the number of clips evaluated and df the number of
    clips among whose references the n-gram occurs (so the idf comes from this set's
    references). Per reference r: sim_n = sum_k min(g_n(c)_k, g_n(r)_k) g_n(r)_k / (|g_n(c)| |g_n(r)|)
    (0 when a norm is 0; the min clips candidate n-grams repeated more than in the reference)
    times exp(-(|c| - |r|)^2 / (2 * 6^2)) on word counts; the clip's score is 10 times the mean
    over n and over its references. An exact copy of every reference scores the most, 10
    (coco-caption's 10 reads as 1000 here). Lengths count words; coco-caption's code counts
    bigrams, which differs only when a sentence is empty.
    """
    cands, refs = _prepare(candidates, references)
    doc_freq: Counter[tuple[str, ...]] = Counter()
    for clip_refs in refs:
        doc_freq.update({gram for ref in clip_refs for n in range(1, CIDER_N + 1) for gram in _ngrams(ref, n)})
    log_n = math.log(len(cands))

    def vectors(tokens: Tokens) -> list[dict[tuple[str, ...], float]]:
        return [{gram: count * (log_n - math.log(max(1.0, doc_freq[gram]))) for gram, count in _ngrams(tokens, n).items()}
                for n in range(1, CIDER_N + 1)]

    def norm(vector: dict[tuple[str, ...], float]) -> float:
        return math.sqrt(sum(value * value for value in vector.values()))

    scores = []
    for cand, clip_refs in zip(cands, refs):
        cand_vectors = vectors(cand)
        total = 0.0
        for ref in clip_refs:
            length_penalty = math.exp(-((len(cand) - len(ref)) ** 2) / (2 * CIDER_SIGMA**2))
            for g_c, g_r in zip(cand_vectors, vectors(ref)):
                denominator = norm(g_c) * norm(g_r)
                if denominator > 0:
                    dot = sum(min(value, g_r.get(gram, 0.0)) * g_r.get(gram, 0.0) for gram, value in g_c.items())
                    total += length_penalty * dot / denominator
        scores.append(CIDER_SCALE * total / (CIDER_N * len(clip_refs)))
    return 100.0 * float(np.mean(scores))


def caption_scores(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """All of the above under the names the papers' tables use."""
    scores = {f"BLEU-{n}": value for n, value in enumerate(bleu(candidates, references), start=1)}
    scores["METEOR"] = meteor(candidates, references)
    scores["ROUGE-L"] = rouge_l(candidates, references)
    scores["CIDEr"] = cider_d(candidates, references)
    return scores
