"""python -m training <task> --data DIR --out DIR [--config FILE] [--epochs N] [--device cpu|cuda]
[--init pretrained|scratch] [--resume] [--set SECTION.FIELD=VALUE ...]

Several GPUs (or CPU processes): ``torchrun --nproc_per_node N -m training <task> ...``.
Both inits, compared: ``python -m training compare-init <task> ...`` (``training/compare_init.py``).

Configs resolve in this order, later winning: the dataclass defaults (or, with --resume, the
configs saved in the run's last checkpoint), the --config file, --set overrides, then the
named flags (--epochs). On success rank 0 prints the run's summary as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from training.cli import add_run_arguments, command_line, resolve_run
from training.config_io import ConfigError
from training.tasks import TASKS
from training.train_state import StateError
from training.trainer import fit

COMPARE_INIT = "compare-init"  # the sub-command that trains both inits and reports (training/compare_init.py)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.split("\n\n")[1],
                                     epilog=f"python -m training {COMPARE_INIT} <task> ... trains both inits "
                                            f"and writes a report; see python -m training {COMPARE_INIT} --help.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=list(TASKS), help="what to train")
    add_run_arguments(parser)
    parser.add_argument("--init", choices=["pretrained", "scratch"], default="pretrained",
                        help="start encoders from pretrained weights (default) or random ones")
    return parser


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [COMPARE_INIT]:
        from training.compare_init import main as compare_init

        return compare_init(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run = resolve_run(args, command_line(argv))
    except (ConfigError, KeyError) as error:
        parser.error(str(error.args[0]) if isinstance(error, KeyError) else str(error))
    try:
        summary = fit(run)
    except StateError as error:  # a damaged checkpoint: one line for a person, not a traceback
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
