"""Where metrics go: ``<out>/metrics.csv`` (always) and TensorBoard under ``<out>/tb`` (if installed).

The CSV is long-format, one value per row: ``time,step,epoch,split,name,value``, e.g.
``...,120,1,train,loss,0.4312`` or ``...,150,1,val,accuracy,0.91``; pivot it with pandas.
Only rank 0 creates a MetricsLog.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

HEADER = ["time", "step", "epoch", "split", "name", "value"]


class MetricsLog:
    def __init__(self, out_dir: str | Path, keep_rows: int | None = None, tensorboard: bool = True):
        """Open (append to) the run's logs; ``keep_rows`` truncates the CSV to the rows a resumed checkpoint knew."""
        out_dir = Path(out_dir)
        self.csv_path = out_dir / "metrics.csv"
        rows = _read_rows(self.csv_path)
        if keep_rows is not None:
            rows = rows[:keep_rows]
        staging = self.csv_path.with_name(".metrics.csv.tmp")
        with open(staging, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(rows)
        os.replace(staging, self.csv_path)  # rewritten whole, so a kill never loses the old rows
        self.rows = len(rows)
        self._handle = open(self.csv_path, "a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._handle)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("tensorboard is not installed; logging to metrics.csv only "
                      "(pip install tensorboard, or the [train] extra).", file=sys.stderr)
            else:
                # purge_step drops events a killed run logged after its last checkpoint
                last_step = int(rows[-1][1]) if rows else None
                self._tb = SummaryWriter(str(out_dir / "tb"), purge_step=None if last_step is None else last_step + 1)

    def log(self, step: int, epoch: int, split: str, values: dict[str, float]) -> None:
        now = f"{time.time():.3f}"
        for name, value in values.items():
            self._csv.writerow([now, step, epoch, split, name, f"{float(value):.6g}"])
            self.rows += 1
            if self._tb is not None:
                self._tb.add_scalar(f"{split}/{name}", float(value), step)
        self._handle.flush()

    def flush(self) -> None:
        self._handle.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self._handle.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: str | Path) -> list[dict[str, str]]:
    """The rows of a metrics.csv as dicts (for tests and notebooks)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _read_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [row for row in rows[1:] if len(row) == len(HEADER)]
