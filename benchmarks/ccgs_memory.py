"""Peak memory of CCGS's global-span matrices (eq. 7) and their loss (eq. 9-12) at the paper's max length.

The paper's max_len is 1,300 tokens. In ``mmdemo.models.ccgs`` the span matrix is r x r over
*sentences* (one boundary token each), so its size depends on how many sentences fit in 1,300
tokens: ``--sentences`` defaults to 130 (sentences of about 10 tokens) and 1,300 (the worst
case: one boundary per token). For M = 1 and M = 7 negatives (G = 1 + M matrices per question,
``--batch`` questions) this times nothing; it measures what one forward + backward of
``GlobalSpanHead`` + ``ccgs_loss`` allocates, from the (r, d) sentence features on:

- ``profiler_peak_bytes``: the running sum of torch's own CPU allocations and frees during the
  step (``torch.profiler`` with ``profile_memory=True``), peak minus the start: exact, and
  blind to everything that is not a tensor;
- ``rss_peak_growth_bytes``: the process's peak resident set (VmHWM, reset through
  /proc/self/clear_refs just before the step) minus its resident set just before it: what the
  operating system saw, allocator slack included. Small settings sit in the noise of glibc.

Each setting runs in a fresh subprocess, so one setting's freed memory cannot hide the next's
growth. The baseline is analytic, in the same output: ``logits_bytes`` = B * G * r * r * 4
(float32 logits), and ``analytic_step_bytes``, the tensors of that size the code keeps alive
at once (see ``analytic``). Ratios compare M = 7 with M = 1 (G = 8 against G = 2: 4x in the
matrices, while the features and the ESLayer do not grow with r^2).

    python benchmarks/ccgs_memory.py [--sentences 130 1300] [--negatives 1 7] [--batch 1] [--hidden 384]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import proc_status_kb, reset_peak_rss  # noqa: E402  (benchmarks/timing.py)

MAX_TOKENS = 1300  # section 3: max_len = 1300 (DeBERTa-v3)


def analytic(b: int, g: int, r: int, d: int) -> dict[str, int]:
    """Bytes of the r^2-sized tensors, as GlobalSpanHead.forward / ccgs_loss / autograd make them.

    Forward: Y X^T (f32), its / sqrt(d) copy (the product is freed once divided), the bool span
    mask (r x r triangle, broadcast to every matrix), the masked logits; Loss1 and Loss2 each
    keep their log-softmax output for backward (1 and G matrices). Backward: the gradient of
    the logits (G matrices) plus one more gradient of that size while masked_fill's and the
    division's backward run.
    """
    m = b * g * r * r
    parts = {
        "logits": 4 * m,
        "span_mask_bool": m + r * r,
        "log_softmax_saved_loss2": 4 * m,
        "log_softmax_saved_loss1": 4 * b * r * r,
        "grad_logits": 4 * m,
        "grad_in_flight": 4 * m,
    }
    parts["total"] = sum(parts.values())
    return parts


def child(r: int, g: int, b: int, hidden: int, seed: int) -> dict:
    """One setting, in its own process: RSS growth first, then the profiler's allocation peak."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from mmdemo.models.ccgs import CCGSConfig, GlobalSpanHead, ccgs_loss

    torch.manual_seed(seed)
    head = GlobalSpanHead(CCGSConfig(hidden=hidden))

    def inputs():
        feats = torch.randn(b * g, r, hidden, requires_grad=True)  # boundary-token features T-bar
        mask = torch.ones(b * g, r, dtype=torch.bool)
        start = torch.randint(0, r, (b,))
        end = torch.minimum(start + torch.randint(0, 5, (b,)), torch.tensor(r - 1))
        return feats, mask, torch.stack([start, end], dim=1)

    def step(feats, mask, targets):
        logits = head(feats, mask).view(b, g, r, r)
        loss, _, _ = ccgs_loss(logits, targets)
        loss.backward()
        return float(loss)

    # warm-up at a small size: loads kernels, fills allocator pools that are not r^2 related
    small = torch.randn(g, 8, hidden, requires_grad=True)
    head(small, torch.ones(g, 8, dtype=torch.bool)).view(1, g, 8, 8)[0, 0].sum().backward()
    head.zero_grad(set_to_none=True)

    feats, mask, targets = inputs()
    reset_peak_rss()
    rss_before = proc_status_kb("VmRSS")
    step(feats, mask, targets)
    rss_peak = proc_status_kb("VmHWM")
    del feats
    head.zero_grad(set_to_none=True)

    feats, mask, targets = inputs()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(feats, mask, targets)
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    running = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        running += e.nbytes()
        peak = max(peak, running)
    return {"rss_peak_growth_bytes": 1024 * (rss_peak - rss_before), "profiler_peak_bytes": peak,
            "rss_before_bytes": 1024 * rss_before}


def run_child(r: int, g: int, b: int, hidden: int, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(r), str(g), "--batch", str(b), "--hidden", str(hidden),
           "--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mib(n: int) -> float:
    return round(n / 2**20, 2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="CCGS global-span matrix memory, M = 1 vs M = 7")
    parser.add_argument("--sentences", type=int, nargs="+", default=[MAX_TOKENS // 10, MAX_TOKENS],
                        help="r: sentences in one 1,300-token input (default ~10 tokens each, and one per token)")
    parser.add_argument("--negatives", type=int, nargs="+", default=[1, 7], help="M values; G = 1 + M")
    parser.add_argument("--batch", type=int, default=1, help="questions per step (the paper trains with 2)")
    parser.add_argument("--hidden", type=int, default=384, help="d: 384 for MiniLM (the paper: 768)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=int, nargs=2, metavar=("R", "G"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child, args.batch, args.hidden, args.seed)

    load_before = [round(x, 2) for x in os.getloadavg()]
    import torch

    settings = []
    for r in args.sentences:
        for m in args.negatives:
            g = 1 + m
            measured = run_child(r, g, args.batch, args.hidden, args.seed)
            est = analytic(args.batch, g, r, args.hidden)
            settings.append({
                "r": r, "M": m, "G": g,
                "logits_bytes": est["logits"],
                "analytic_step_bytes": est["total"],
                "profiler_peak_bytes": measured["profiler_peak_bytes"],
                "rss_peak_growth_bytes": measured["rss_peak_growth_bytes"],
                "MiB": {"logits": mib(est["logits"]), "analytic_step": mib(est["total"]),
                        "profiler_peak": mib(measured["profiler_peak_bytes"]),
                        "rss_peak_growth": mib(measured["rss_peak_growth_bytes"])},
                "profiler_peak_over_logits": round(measured["profiler_peak_bytes"] / est["logits"], 2),
            })  # fmt: skip

    ratios = []
    lo, hi = min(args.negatives), max(args.negatives)
    for r in args.sentences:
        a = next(s for s in settings if s["r"] == r and s["M"] == lo)
        z = next(s for s in settings if s["r"] == r and s["M"] == hi)
        ratios.append({
            "r": r,
            f"ratio_M{hi}_over_M{lo}": {
                key: round(z[key] / a[key], 2) if a[key] > 0 else None
                for key in ("logits_bytes", "analytic_step_bytes", "profiler_peak_bytes", "rss_peak_growth_bytes")
            },
        })  # fmt: skip
    return {
        "benchmark": "ccgs_memory",
        "cpu_count": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "max_tokens": MAX_TOKENS,
        "batch_questions": args.batch,
        "hidden": args.hidden,
        "analytic_parts_of_step": list(analytic(1, 1, 1, 1))[:-1],
        "settings": settings,
        "ratios": ratios,
    }


if __name__ == "__main__":
    result = main()
    print(json.dumps(result))
