"""Run the mmdemo web app: ``python app.py [--host H] [--port P] [--share] [--checkpoints DIR]``.

Hugging Face Spaces runs this file too; it sets GRADIO_SERVER_NAME/PORT, which the defaults honour.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mmdemo.config import Settings, set_offline_environment


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument("--checkpoints", type=Path, default=None, help="folder of exported checkpoints")
    parser.add_argument("--text-encoder", default=None,
                        help='"minilm" (bundled, the default) or a Hugging Face model id; to download one, run with HF_HUB_OFFLINE=0')
    parser.add_argument("--device", default=None, help="cpu (default) or cuda")
    parser.add_argument("--asr-model", default=None,
                        help='speech recognition for videos without subtitles: "bundled" (Whisper base, the default), '
                             "a faster-whisper model folder, or a model id (downloaded: run with HF_HUB_OFFLINE=0)")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false", default=None,
                        help="load each tab's models on its first use instead of in the background right after start")
    args = parser.parse_args(argv)
    if args.asr_model:  # a model that cannot be had should stop the start, not the first upload
        from mmdemo.speech.model import SpeechModelError, resolve

        try:
            resolve(args.asr_model, settings_from(args).asr_cache_dir)
        except SpeechModelError as error:
            parser.error(str(error))
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings().with_overrides(checkpoints_dir=args.checkpoints, text_encoder=args.text_encoder, device=args.device,
                                     asr_model=args.asr_model, warm_up=args.warm_up)


def main(argv: list[str] | None = None) -> None:
    set_offline_environment()  # before gradio is imported, and before --asr-model is looked up
    args = parse_args(argv)
    from mmdemo.ui import build_app, launch_options

    settings = settings_from(args)
    build_app(settings).launch(
        server_name=args.host, server_port=args.port, share=args.share, **launch_options(settings)
    )


if __name__ == "__main__":
    main()
