"""App start to ready, and first-answer latency on the bundled corpus.

Each run launches ``python app.py --port P`` as a fresh process and measures
- ready: launch until the HTTP endpoint answers 200;
- first answer: one ``/locate_answer`` call through ``gradio_client`` the moment the page
  answers (the models are still warming up in the background, so it waits for them);
- first answer after a person's pause: a fresh server, and the first question ``--think``
  seconds after ready (reading the page and typing), by which time warm-up has loaded the models;
- warm answer: a second question on the first server.
Baselines in the same run: a bare gradio app (one text box) launched the same way, for the
ready time, and the warm answer, for the first ones.

    python benchmarks/app_startup.py [--runs 3] [--think 15]

Prints one JSON object (medians over the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from timing import free_port  # benchmarks/timing.py

ROOT = Path(__file__).resolve().parent.parent
BARE_APP = (
    "import sys, gradio as gr\n"
    "gr.Interface(lambda s: s, 'text', 'text').launch(server_name='127.0.0.1', server_port=int(sys.argv[1]))\n"
)
QUESTIONS = (  # (question, video the answer is in)
    ("How do I do a chin tuck for neck pain?", "chin-tuck-neck-pain"),
    ("How long should I cool a burn under running water?", "minor-burn"),
)


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def wait_ready(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def launch(command: list[str], port: int, log, timeout: float) -> tuple[subprocess.Popen, float]:
    """Start a server; returns it and the seconds until its page answered."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=environment(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/", process, timeout)
    except Exception:
        stop(process)
        raise
    return process, time.perf_counter() - start


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ask(client, question: str) -> tuple[float, dict]:
    start = time.perf_counter()
    outputs = client.predict(question, None, None, 5, api_name="/locate_answer")
    seconds = time.perf_counter() - start
    answer = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return seconds, answer


def one_run(log, timeout: float, think: float) -> dict:
    from gradio_client import Client

    port = free_port()
    bare, bare_ready = launch([sys.executable, "-c", BARE_APP, str(port)], port, log, timeout)
    stop(bare)
    port = free_port()
    app, ready = launch([sys.executable, "app.py", "--port", str(port)], port, log, timeout)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        first, first_answer = ask(client, QUESTIONS[0][0])
        warm, warm_answer = ask(client, QUESTIONS[1][0])
    finally:
        stop(app)
    port = free_port()
    app, _ = launch([sys.executable, "app.py", "--port", str(port)], port, log, timeout)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        time.sleep(think)
        after_think, think_answer = ask(client, QUESTIONS[0][0])
    finally:
        stop(app)
    return {
        "bare_gradio_ready_s": bare_ready,
        "app_ready_s": ready,
        "first_answer_s": first,
        "first_answer_after_think_s": after_think,
        "warm_answer_s": warm,
        "answers_correct": all(answer.get("video_id") == expected for answer, expected in
                               ((first_answer, QUESTIONS[0][1]), (warm_answer, QUESTIONS[1][1]),
                                (think_answer, QUESTIONS[0][1]))),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="app start-up and first-answer latency")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a server may take to start")
    parser.add_argument("--think", type=float, default=15.0, help="seconds between ready and the paused first question")
    args = parser.parse_args(argv)
    with tempfile.TemporaryFile() as log:
        runs = [one_run(log, args.timeout, args.think) for _ in range(args.runs)]
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "answers_correct"}
    return {
        "benchmark": "app_startup",
        "runs": args.runs,
        "cpu_count": os.cpu_count(),
        **{f"{k}_median": round(v, 3) for k, v in median.items()},
        "ratio_app_ready_over_bare_gradio": round(median["app_ready_s"] / median["bare_gradio_ready_s"], 2),
        "think_s": args.think,
        "ratio_first_answer_over_warm": round(median["first_answer_s"] / median["warm_answer_s"], 2),
        "ratio_first_answer_after_think_over_warm": round(median["first_answer_after_think_s"] / median["warm_answer_s"], 2),
        "answers_correct": all(r["answers_correct"] for r in runs),
        "per_run": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in runs],
    }


if __name__ == "__main__":
    print(json.dumps(main()))
