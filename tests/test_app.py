"""app.py's flags become Settings; the contract's defaults hold."""

import importlib.util
from pathlib import Path

from mmdemo.config import DEFAULT_ASSETS, REPO_ROOT


def load_app():
    spec = importlib.util.spec_from_file_location("mmdemo_app_script", REPO_ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults_serve_the_bundled_assets_on_localhost(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    app = load_app()
    args = app.parse_args([])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)
    settings = app.settings_from(args)
    assert settings.checkpoint_root == DEFAULT_ASSETS / "checkpoints" and settings.text_encoder == "minilm"


def test_flags_override_settings(tmp_path):
    app = load_app()
    args = app.parse_args(["--port", "9000", "--checkpoints", str(tmp_path), "--text-encoder", "org/model", "--device", "cuda"])
    settings = app.settings_from(args)
    assert args.port == 9000
    assert (settings.checkpoint_root, settings.text_encoder, settings.device) == (Path(tmp_path), "org/model", "cuda")


def test_asr_model_flag(tmp_path, capsys):
    import pytest

    app = load_app()
    assert app.settings_from(app.parse_args([])).asr_model == "bundled"
    (tmp_path / "model.bin").write_bytes(b"")
    assert app.settings_from(app.parse_args(["--asr-model", str(tmp_path)])).asr_model == str(tmp_path)
    with pytest.raises(SystemExit):  # offline, a model id cannot be downloaded: say so before starting
        app.parse_args(["--asr-model", "Systran/faster-whisper-small"])
    assert "needs internet" in capsys.readouterr().err


def test_warm_up_is_on_unless_turned_off():
    app = load_app()
    assert app.settings_from(app.parse_args([])).warm_up is True
    assert app.settings_from(app.parse_args(["--no-warm-up"])).warm_up is False
