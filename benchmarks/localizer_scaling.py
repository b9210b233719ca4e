"""Zero-shot localizer cost against subtitle length: linear now, quadratic before issue 19.

For 1,000, 10,000 and 100,000 cues of synthetic SRT text (2.5 s sentences, parsed and cleaned
by ``mmdemo.media.subtitles``; parsing is timed apart) with a planted 50 s answer-like stretch
of high scores every 1,000 s over low noise, this times the localizer alone,
``caption_relevance`` then ``best_spans`` (top 5, as the app asks), median of ``--repeats``
runs, and takes its peak memory with tracemalloc in one more run (numpy reports its buffers to
tracemalloc). No cue cap applies: the localizer is called directly. The baseline, in the same
run at 1,000 cues only (at 100,000 it needs about 80 GB), is the n x n implementation that
issue 19 replaced, kept here verbatim; ``identical_to_quadratic`` checks both return the same
spans.

    python benchmarks/localizer_scaling.py [--sizes 1000 10000 100000] [--repeats 3]

Prints one JSON object; ``ratios_per_10x`` near 10 means linear growth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.media.subtitles import Caption, clean_captions, parse_srt, to_srt  # noqa: E402
from mmdemo.retrieval.localizer import LocalizerConfig, Span, best_spans, caption_relevance  # noqa: E402
from timing import timed  # noqa: E402  (benchmarks/timing.py)

TOP_K = 5  # what the app asks for (AnswerLocator.run default)
CUE_SECONDS = 2.5
SENTENCES = (
    "Sit on the floor with one leg straight in front of you.",
    "Reach toward your toes and hold the stretch for thirty seconds.",
    "Wrap the ice in a thin towel before it touches the skin.",
    "Remember to drink water and rest between the exercises.",
)


def synthetic_srt(n: int) -> str:
    return to_srt([Caption(i * CUE_SECONDS, (i + 1) * CUE_SECONDS - 0.1, f"{SENTENCES[i % 4]} ({i})") for i in range(n)])


def planted_scores(captions) -> np.ndarray:
    """Window-like scores: low noise, and 50 s of relevant talk every 1,000 s."""
    starts = np.array([c.start for c in captions])
    noise = 0.2 * np.random.default_rng(0).random(len(captions))
    return np.where(starts % 1000.0 < 50.0, 0.8 + noise, noise)


def quadratic_localizer(captions, raw: np.ndarray, config: LocalizerConfig) -> list[Span]:
    """The pre-issue-19 localizer: an n x n Gaussian, then every one of the n(n+1)/2 spans at once."""
    times = np.array([0.5 * (c.start + c.end) for c in captions])
    scores = (raw - raw.min()) / (raw.max() - raw.min())
    weights = np.exp(-0.5 * ((times[:, None] - times[None, :]) / config.smooth_seconds) ** 2)
    scores = weights @ scores / weights.sum(1)
    relevance = ((scores - scores.min()) / (scores.max() - scores.min())).astype(np.float32)
    starts = np.array([c.start for c in captions])
    ends = np.array([c.end for c in captions])
    slots = np.append(np.diff(starts), ends[-1] - starts[-1]).clip(min=0)
    gain = np.concatenate([[0.0], np.cumsum((relevance.astype(np.float64) - config.threshold) * slots)])
    first, last = np.triu_indices(len(captions))
    span_start, span_end = starts[first], ends[last]
    mean = config.log_length_mean(ends[-1])
    z = (np.log(np.maximum(span_end - span_start, 1e-3)) - mean) / config.length_log_std
    tenth = np.clip(0.5 * (span_start + span_end) / ends[-1] * 10, 0, 9).astype(int)
    score = ((gain[last + 1] - gain[first]) / np.exp(mean) - config.prior_weight * 0.5 * z**2
             + config.position_weight * np.asarray(config.position_log_odds)[tenth])
    out: list[Span] = []
    alive = np.ones(len(score), dtype=bool)
    while len(out) < TOP_K and alive.any():
        k = int(np.argmax(np.where(alive, score, -np.inf)))
        out.append(Span(float(span_start[k]), float(span_end[k]), float(score[k]), int(first[k]), int(last[k])))
        inter = np.clip(np.minimum(span_end, span_end[k]) - np.maximum(span_start, span_start[k]), 0, None)
        union = np.maximum(span_end, span_end[k]) - np.minimum(span_start, span_start[k])
        alive &= np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0) <= config.nms_iou
        alive[k] = False
    return out


def linear_localizer(captions, raw: np.ndarray, config: LocalizerConfig) -> list[Span]:
    return best_spans(captions, caption_relevance(captions, raw, config).scores, config, TOP_K)


def measure(localize, captions, raw, config, repeats: int) -> tuple[dict, list[Span]]:
    seconds = [timed(localize, captions, raw, config)[0] for _ in range(repeats)]
    tracemalloc.start()
    try:
        spans = localize(captions, raw, config)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"cues": len(captions), "seconds": round(statistics.median(seconds), 4), "peak_mb": round(peak / 1e6, 2)}, spans


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    config = LocalizerConfig()
    rows, baseline = [], None
    for n in args.sizes:
        text = synthetic_srt(n)
        parse_s, captions = timed(lambda: clean_captions(parse_srt(text)))
        raw = planted_scores(captions)
        row, spans = measure(linear_localizer, captions, raw, config, args.repeats)
        rows.append({**row, "srt_mb": round(len(text.encode()) / 1e6, 2), "parse_and_clean_seconds": round(parse_s, 3)})
        if n == min(args.sizes):
            quad, expected = measure(quadratic_localizer, captions, raw, config, args.repeats)
            same = [(s.first, s.last) for s in spans] == [(s.first, s.last) for s in expected]
            baseline = {**quad, "identical_to_quadratic": same,
                        "quadratic_over_linear_seconds": round(quad["seconds"] / row["seconds"], 2),
                        "quadratic_over_linear_peak": round(quad["peak_mb"] / row["peak_mb"], 2)}
    ratios = [
        {"cues": f"{a['cues']} -> {b['cues']}", "seconds": round(b["seconds"] / a["seconds"], 2),
         "peak_mb": round(b["peak_mb"] / a["peak_mb"], 2)}
        for a, b in zip(rows, rows[1:]) if b["cues"] == 10 * a["cues"]
    ]
    print(json.dumps({"localizer": rows, "ratios_per_10x": ratios, "quadratic_baseline": baseline,
                      "config": {"top_k": TOP_K, "cue_seconds": CUE_SECONDS, "repeats": args.repeats,
                                 "max_length_seconds": round(config.max_length_seconds(1000.0), 1)}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
