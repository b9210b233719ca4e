"""python -m mmdemo.transcribe FILE [--format srt|vtt|json] [--asr-model ID]  — print what is said in a clip.

The transcript goes to stdout (SRT by default; JSON adds the language and the model); the
detected language and errors go to stderr, so the output can be redirected into a subtitle file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mmdemo.config import Settings, set_offline_environment
from mmdemo.errors import InputError
from mmdemo.media.subtitles import to_srt, to_vtt
from mmdemo.speech.model import SpeechModelError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mmdemo.transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a video or audio file")
    parser.add_argument("--format", choices=("srt", "vtt", "json"), default="srt")
    parser.add_argument("--asr-model", default=None,
                        help='"bundled" (Whisper base, the default), a faster-whisper model folder, or a model id '
                             "such as small or Systran/faster-whisper-small (downloaded: needs internet and HF_HUB_OFFLINE=0)")
    parser.add_argument("--asr-cache", type=Path, default=None, help="where the bundled model is put together")
    parser.add_argument("--device", default=None, help="cpu (default) or cuda")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_offline_environment()
    from mmdemo.speech.transcriber import Transcriber

    settings = Settings().with_overrides(asr_model=args.asr_model, asr_cache_dir=args.asr_cache, device=args.device)
    try:
        transcript = Transcriber.from_settings(settings).transcribe(args.file)
    except (InputError, SpeechModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(transcript.to_json(), ensure_ascii=False, indent=1))
    else:
        print((to_srt if args.format == "srt" else to_vtt)(transcript.captions), end="")
    print(f"language: {transcript.language} (p={transcript.language_probability:.2f}), {len(transcript.captions)} lines, "
          f"{transcript.duration:.1f} s, {transcript.model}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
