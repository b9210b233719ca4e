"""Audio embedding throughput (clips/s): the compact CPU encoder against PaSST, in one run.

Both are the real ``AudioTextRetriever.embed_waveform`` path (front end, segmenting, tower,
projection, averaging) on the same synthetic clips, in eval mode under inference mode, with
random weights (throughput does not depend on the weights' values):

- ``cnn``: the bundled configuration (``AudioTowerConfig()``: the compact CNN, 10 s segments);
- ``passt_<variant>``: PaSST-S / -N / -S15 from hear21passt (section 2.1), each on its own
  segment length (10 s, 10 s, 15 s).

Clips are ``--seconds`` long (default 10, one PaSST-S segment); each model embeds ``--clips``
of them after one warm-up. ``ratio_over_cnn`` is how many times longer a clip takes than with
the compact CNN, measured in the same run.

    python benchmarks/audio_embedding.py [--clips 8] [--seconds 10] [--variants S N S15] [--device cpu]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmdemo.config import set_offline_environment  # noqa: E402

set_offline_environment()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmdemo.models.audio_text import AudioTowerConfig, DualEncoder, DualEncoderConfig  # noqa: E402
from mmdemo.pipelines.audio_retriever import AudioTextRetriever  # noqa: E402


def clips_per_second(retriever: AudioTextRetriever, clips: list[np.ndarray]) -> float:
    retriever.embed_waveform(clips[0])  # warm-up: allocations, first-call paths
    if retriever.model.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for clip in clips:
        retriever.embed_waveform(clip)
    if retriever.model.device.type == "cuda":
        torch.cuda.synchronize()
    return len(clips) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--variants", nargs="*", default=["S", "N", "S15"])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    samples = int(args.seconds * 32000)
    clips = [(0.1 * rng.standard_normal(samples)).astype(np.float32) for _ in range(args.clips)]
    towers = {"cnn": AudioTowerConfig()}
    towers.update({f"passt_{v}": AudioTowerConfig(kind="passt", passt_variant=v) for v in args.variants})
    results: dict[str, dict] = {}
    for name, tower in towers.items():
        torch.manual_seed(0)
        model = DualEncoder.from_config(DualEncoderConfig(audio=tower), pretrained=False).to(args.device)
        rate = clips_per_second(AudioTextRetriever(model), clips)
        results[name] = {"clips_per_s": round(rate, 3), "ms_per_clip": round(1000 / rate, 1),
                         "segment_seconds": tower.segment_seconds,
                         "audio_params_m": round(sum(p.numel() for p in model.audio.parameters()) / 1e6, 2)}
    base = results["cnn"]["clips_per_s"]
    for name, row in results.items():
        row["ratio_over_cnn"] = round(base / row["clips_per_s"], 2)
    print(json.dumps({"device": args.device, "threads": torch.get_num_threads(), "clip_seconds": args.seconds,
                      "clips": args.clips, "models": results}, indent=2))


if __name__ == "__main__":
    main()
