"""python -m training compare-init <task> --data DIR --out DIR [--config FILE] [--epochs N]
[--device cpu|cuda] [--resume] [--set SECTION.FIELD=VALUE ...]

Trains <task> twice through the one training loop, from pretrained weights and from scratch
(``training.scratch``), with the same data, seed, config and epoch budget, into <out>/pretrained
and <out>/scratch; then writes <out>/report.json and <out>/report.html (``mmdemo.compare_report``):
per epoch the training loss, the validation loss and metrics; the best and final epoch of each
run; the wall time. The numbers are read from each run's metrics.csv and summary.json, never
recomputed. --resume continues both runs (a finished run is left as it is); flags need not be
repeated, as with ``python -m training <task> --resume``. Prints the report's summary as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmdemo.compare_report import (
    HTML_FILE,
    INITS,
    REPORT_FILE,
    CompareReport,
    Evaluation,
    InitRun,
    report_html,
)
from training.cli import add_run_arguments, command_line, has_saved_state, resolve_run
from training.config_io import ConfigError
from training.metrics_log import read_metrics
from training.tasks import TASKS
from training.trainer import Run, fit

WALL_FILE = "wall_seconds.json"  # under <out>: each run's wall time so far, summed over invocations


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training compare-init", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=list(TASKS), help="what to train, once per init")
    add_run_arguments(parser)
    return parser


def resolve_runs(args: argparse.Namespace, command: str) -> dict[str, Run]:
    """The two runs, identical but for ``init`` and their folder; ConfigError if they would differ.

    A run with no checkpoint yet takes the other's saved configs, so that a resumed comparison
    whose second run had not started still trains it exactly as the first.
    """
    runs = {init: resolve_run(argparse.Namespace(**{**vars(args), "init": init, "out": args.out / init}), command)
            for init in INITS}
    saved = [init for init in INITS if has_saved_state(runs[init].out_dir)]
    for init in INITS:
        if saved and init not in saved:
            source = runs[saved[0]]
            runs[init] = replace(runs[init], train=source.train, task_config=source.task_config)
    if runs["pretrained"].configs() != runs["scratch"].configs():
        raise ConfigError(f"{args.out}/pretrained and {args.out}/scratch hold runs with different configs; "
                          "a comparison needs the same config for both. Choose another --out.")
    return runs


def is_finished(run: Run) -> bool:
    """A run whose summary says it trained its whole budget (nothing for --resume to do)."""
    summary = _read_json(Path(run.out_dir) / "summary.json")
    done = summary.get("status") == "finished" and summary.get("epoch") == run.train.epochs
    return done and has_saved_state(run.out_dir)


def init_run(init: str, out: Path, wall_seconds: float) -> InitRun:
    """One run's curves from its metrics.csv, its best epoch from its summary.json (the one it exported)."""
    summary = _read_json(out / "summary.json")
    completed = int(summary["epoch"])
    rows = [r for r in read_metrics(out / "metrics.csv") if int(r["epoch"]) < completed]
    train_sum: dict[int, float] = {}
    train_steps: dict[int, int] = {}
    last_step = 0
    for row in (r for r in rows if r["split"] == "train" and r["name"] == "loss"):
        # each row is the mean over the optimizer steps since the previous row, all in one epoch
        epoch, step = int(row["epoch"]), int(row["step"])
        train_sum[epoch] = train_sum.get(epoch, 0.0) + float(row["value"]) * (step - last_step)
        train_steps[epoch] = train_steps.get(epoch, 0) + step - last_step
        last_step = step
    evaluated: dict[int, dict[str, float]] = {}
    for row in (r for r in rows if r["split"] == "val"):
        evaluated.setdefault(int(row["epoch"]), {})[row["name"]] = float(row["value"])
    val_epochs = sorted(evaluated)
    names = sorted({name for metrics in evaluated.values() for name in metrics})
    best = summary.get("best")
    return InitRun(
        init=init, run_dir=init, status=summary["status"],
        epochs=[e + 1 for e in sorted(train_sum)],
        train_loss=[float(f"{train_sum[e] / train_steps[e]:.6g}") for e in sorted(train_sum)],  # as the CSV's precision
        val_epochs=[e + 1 for e in val_epochs],
        val={name: [evaluated[e][name] for e in val_epochs] for name in names},
        best=Evaluation(best["epoch"] + 1, evaluated[best["epoch"]]) if best else None,
        final=Evaluation(val_epochs[-1] + 1, evaluated[val_epochs[-1]]) if val_epochs else None,
        wall_seconds=round(wall_seconds, 3),  # a toy run can take under 50 ms
    )


def val_loss_name(runs: list[InitRun]) -> str | None:
    """The validation metric that is the loss: "loss", else a task's own "<something>_loss"."""
    names = sorted({name for run in runs for name in run.val})
    if "loss" in names:
        return "loss"
    return next((name for name in names if name.endswith("_loss")), None)


def build_report(runs: dict[str, Run], wall: dict[str, float], command: str) -> CompareReport:
    run = runs["pretrained"]
    task = run.task_cls
    curves = {init: init_run(init, Path(r.out_dir), wall.get(init, 0.0))
              for init, r in runs.items()}
    return CompareReport(
        task=run.task_name, selection_metric=task.selection_metric, selection_mode=task.selection_mode,
        val_loss=val_loss_name(list(curves.values())), pretrained=curves["pretrained"], scratch=curves["scratch"],
        epochs=run.train.epochs, seed=run.train.seed, data=str(Path(run.data_dir).resolve()), command=command,
        date=datetime.now(UTC).isoformat(timespec="seconds"), config=run.configs(),
    )


def write_report(report: CompareReport, out: Path) -> None:
    """report.json and report.html, each replaced whole."""
    _write_text(out / REPORT_FILE, json.dumps(report.to_dict(), indent=2) + "\n")
    _write_text(out / HTML_FILE, report_html(report))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    command = command_line(["compare-init", *argv])
    try:
        runs = resolve_runs(args, command)
    except (ConfigError, KeyError) as error:
        parser.error(str(error.args[0]) if isinstance(error, KeyError) else str(error))
    main_rank = int(os.environ.get("RANK", "0")) == 0
    wall = _read_json(args.out / WALL_FILE) if args.resume else {}
    for init, run in runs.items():
        if args.resume and is_finished(run):
            print(f"{run.out_dir}: already trained {run.train.epochs} epochs; kept as it is.", file=sys.stderr)
            continue
        started = time.perf_counter()
        fit(run)
        wall[init] = wall.get(init, 0.0) + time.perf_counter() - started
        if main_rank:
            _write_text(args.out / WALL_FILE, json.dumps(wall) + "\n")
    if not main_rank:
        return {}
    report = build_report(runs, wall, command)
    write_report(report, args.out)
    result = {"report": str(args.out / REPORT_FILE), "html": str(args.out / HTML_FILE), "task": report.task,
              **{init: {"status": r.status, "best": r.best and vars(r.best), "final": r.final and vars(r.final),
                        "wall_seconds": r.wall_seconds} for init, r in report.runs.items()}}
    print(json.dumps(result))
    return result


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)

