"""Speech recognition metric: word error rate, (substitutions + deletions + insertions) / reference
words, from a word-level Levenshtein alignment, after lower-casing and dropping punctuation (the
usual "normalised WER"; Whisper's own normaliser also spells out numbers, which is left out here).
"""

from __future__ import annotations


def _asr_words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() or ch == "'" or ch.isspace() else " " for ch in text.lower()).split()


def word_error_rate(hypothesis: str, reference: str) -> float:
    """WER in percent; can exceed 100 when the hypothesis inserts many words. An empty reference
    gives 0 for an empty hypothesis and 100 otherwise."""
    hyp, ref = _asr_words(hypothesis), _asr_words(reference)
    if not ref:
        return 0.0 if not hyp else 100.0
    previous = list(range(len(hyp) + 1))  # edit distance of ref[:0] to each prefix of hyp
    for i, word in enumerate(ref, 1):
        current = [i]
        for j, guess in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != guess)))
        previous = current
    return 100.0 * previous[-1] / len(ref)
