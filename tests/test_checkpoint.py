import json
from dataclasses import dataclass, field

import pytest
import torch

from mmdemo.checkpoint import (
    CheckpointError,
    config_from_dict,
    load_checkpoint,
    save_checkpoint,
)
from mmdemo.models.factory import FAMILIES, ModelFamily, load_model


@dataclass
class InnerConfig:
    width: int = 4


@dataclass
class TinyConfig:
    hidden: int = 3
    sizes: tuple[int, ...] = (1, 2)
    inner: InnerConfig = field(default_factory=InnerConfig)


class Tiny(torch.nn.Module):
    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        self.proj = torch.nn.Linear(config.inner.width, config.hidden)


@pytest.fixture(autouse=True)
def tiny_family(monkeypatch):
    monkeypatch.setitem(FAMILIES, "tiny", ModelFamily(TinyConfig, lambda config, pretrained: Tiny(config), "a tiny model"))


def test_round_trip_rebuilds_identical_model(tmp_path):
    config = TinyConfig(hidden=5, sizes=(3, 4), inner=InnerConfig(width=6))
    model = Tiny(config)
    save_checkpoint(tmp_path / "export", model, family="tiny", config=config, meta={"task": "unit"})

    checkpoint = load_checkpoint(tmp_path / "export")
    assert checkpoint.meta["task"] == "unit" and "date" in checkpoint.meta
    rebuilt = load_model(tmp_path / "export")
    assert rebuilt.config == config
    for name, tensor in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[name], tensor)


def test_overwrite_replaces_whole_export(tmp_path):
    target = tmp_path / "export"
    save_checkpoint(target, {"w": torch.zeros(2)}, family="tiny", config=TinyConfig())
    save_checkpoint(target, {"w": torch.ones(3)}, family="tiny", config=TinyConfig())
    assert torch.equal(load_checkpoint(target).state_dict["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no staging dirs left behind


def test_refuses_pickles_without_opening_them(tmp_path):
    save_checkpoint(tmp_path / "export", {"w": torch.zeros(1)}, family="tiny", config=TinyConfig())
    (tmp_path / "export" / "pytorch_model.bin").write_bytes(b"\x80\x04 not even read")
    with pytest.raises(CheckpointError, match="never unpickles"):
        load_checkpoint(tmp_path / "export")


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda d: (d / "meta.json").unlink(), "missing meta.json"),
        (lambda d: (d / "config.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "model.safetensors").write_bytes(b"garbage"), "not a valid safetensors"),
        (lambda d: (d / "config.json").write_text(json.dumps({"format_version": 99, "family": "tiny", "config": {}})), "format version 99"),
    ],
)
def test_malformed_exports_give_clear_errors(tmp_path, corrupt, message):
    save_checkpoint(tmp_path / "export", {"w": torch.zeros(1)}, family="tiny", config=TinyConfig())
    corrupt(tmp_path / "export")
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "export")


def test_not_a_directory(tmp_path):
    with pytest.raises(CheckpointError, match="not a directory"):
        load_checkpoint(tmp_path / "nothing")


def test_unknown_family_and_mismatched_weights(tmp_path):
    save_checkpoint(tmp_path / "a", {"w": torch.zeros(1)}, family="other", config={})
    with pytest.raises(CheckpointError, match="'other' model"):
        load_model(tmp_path / "a")
    save_checkpoint(tmp_path / "b", {"proj.weight": torch.zeros(1)}, family="tiny", config=TinyConfig())
    with pytest.raises(CheckpointError, match="does not match"):
        load_model(tmp_path / "b")


def test_unknown_config_field_is_an_error():
    with pytest.raises(CheckpointError, match="Unknown TinyConfig fields"):
        config_from_dict(TinyConfig, {"hidden": 1, "surprise": 2})


def test_export_sweeps_staging_left_by_a_killed_export(tmp_path):
    (tmp_path / ".export.k1ll3d").mkdir()  # what atomic_directory leaves when the process dies mid-export
    (tmp_path / ".export.k1ll3d" / "model.safetensors").write_bytes(b"half")
    (tmp_path / ".export-final.x9").mkdir()  # another target's staging: not this export's to sweep
    save_checkpoint(tmp_path / "export", {"w": torch.zeros(1)}, family="tiny", config=TinyConfig())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export-final.x9", "export"]
