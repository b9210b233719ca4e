"""Speech recognition speed: a 10-minute espeak-ng narration through ``Transcriber``, against ffmpeg.

Reports the real-time factor (transcription seconds / audio seconds; below 1 is faster than
real time), the seconds ffmpeg alone needs to decode the same audio to 16 kHz in the same run
(the floor any transcriber pays), the time to the first recognised line, the model load time,
the peak resident memory while transcribing (the narration is made first, and the peak reset
after it), and the word error rate against the narration's script. The goal on two CPU cores:
a 10-minute clip transcribed in under 2.5 minutes.

    python benchmarks/transcribe_speed.py [--minutes 10] [--threads 2] [--beam 1] [--window 300] [--model bundled]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mmdemo.media.audio import load_audio  # noqa: E402
from mmdemo.metrics import word_error_rate  # noqa: E402
from mmdemo.speech.transcriber import Transcriber, TranscriberConfig  # noqa: E402
from timing import proc_status_kb, reset_peak_rss, timed  # noqa: E402  (benchmarks/timing.py)
from training.data.synthetic_speech import narrate, narrated_clip, script  # noqa: E402

SECONDS_PER_SENTENCE = 4.0  # an instruction of ~9 words at 165 words a minute, and its pause


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads")
    parser.add_argument("--beam", type=int, default=TranscriberConfig.beam_size)
    parser.add_argument("--window", type=float, default=TranscriberConfig.window_seconds, help="seconds decoded at a time")
    parser.add_argument("--model", default="bundled")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        sentences = script(round(args.minutes * 60 / SECONDS_PER_SENTENCE))
        narration = narrate(sentences, Path(tmp) / "narration.wav")
        clip = narrated_clip(narration, Path(tmp) / "narration.mp4")
        config = replace(TranscriberConfig(), cpu_threads=args.threads, beam_size=args.beam, window_seconds=args.window)
        transcriber = Transcriber(args.model, config=config)
        gc.collect()
        reset_peak_rss()
        rss_before = proc_status_kb("VmHWM") / 1024
        load_seconds, _ = timed(transcriber.model)
        first_line: list[float] = []
        start = time.perf_counter()

        def note(share: float) -> None:
            if not first_line and share > 0:
                first_line.append(time.perf_counter() - start)

        seconds, transcript = timed(transcriber.transcribe, clip, progress=note)
        rss_peak = proc_status_kb("VmHWM") / 1024
        decode_seconds, audio = timed(load_audio, clip, 16000)
        audio_seconds = audio.size / 16000
        del audio
        text = " ".join(c.text for c in transcript.captions)
        print(json.dumps({
            "audio_seconds": round(audio_seconds, 1),
            "transcribe_seconds": round(seconds, 2),
            "real_time_factor": round(seconds / audio_seconds, 4),
            "ffmpeg_decode_seconds": round(decode_seconds, 3),
            "transcribe_vs_decode": round(seconds / decode_seconds, 1),
            "model_load_seconds": round(load_seconds, 2),
            "first_line_seconds": round(first_line[0], 2) if first_line else None,
            "peak_rss_mb": round(rss_peak, 1),
            "rss_before_mb": round(rss_before, 1),
            "goal_seconds_for_10_min": 150,
            "lines": len(transcript.captions),
            "words": len(transcript.words),
            "wer_percent": round(word_error_rate(text, " ".join(sentences)), 2),
            "language": transcript.language,
            "config": {"model": transcriber.label, "compute_type": config.compute_type, "beam_size": config.beam_size,
                       "cpu_threads": args.threads, "window_seconds": config.window_seconds, "vad_filter": True},
        }))


if __name__ == "__main__":
    main()
