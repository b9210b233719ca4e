"""The pipeline base: parts load once even when requests race, facts come from meta.json, absence is said."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mmdemo.config import Settings
from mmdemo.errors import InputError
from mmdemo.pipelines.base import ModelCard, Pipeline, reporter


class Counting(Pipeline):
    checkpoint_dir = "counting"
    missing = "No counting model is installed"

    def __init__(self, settings, root=None):
        super().__init__(settings, root)
        self.builds = 0

    def model(self):
        self.require()
        return self.part("model", self._build)

    def _build(self):
        self.builds += 1
        time.sleep(0.2)  # long enough for every racing request to arrive mid-load
        return object()

    def warm_up(self):
        self.model()


def test_racing_requests_load_a_part_once_and_share_it(tmp_path):
    (tmp_path / "counting").mkdir()
    pipeline = Counting.load(Settings(checkpoints_dir=tmp_path))
    start = threading.Barrier(4)

    def request():
        start.wait()
        return pipeline.model()

    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: request(), range(4)))
    assert pipeline.builds == 1 and all(m is models[0] for m in models)
    assert pipeline.loaded("model") and not pipeline.loaded("other")


def test_a_warm_up_mid_load_is_waited_for_not_repeated(tmp_path):
    pipeline = Counting.from_dir(tmp_path, Settings())
    warming = threading.Thread(target=pipeline.warm_up)
    warming.start()
    time.sleep(0.05)
    assert pipeline.model() is not None
    warming.join()
    assert pipeline.builds == 1


def test_a_missing_export_is_said_by_name_not_path(tmp_path):
    pipeline = Counting.load(Settings(checkpoints_dir=tmp_path))
    assert not pipeline.available() and pipeline.describe() == {"models": []}
    with pytest.raises(InputError, match="No counting model is installed .*'counting'") as raised:
        pipeline.model()
    assert str(tmp_path) not in str(raised.value) and pipeline.builds == 0


def test_model_cards_are_facts_from_meta_json(tmp_path):
    export = tmp_path / "captioner"
    export.mkdir()
    (export / "meta.json").write_text(json.dumps({
        "note": "captions, made in /srv/secret/runs", "data": "/srv/secret/runs/captions", "init": "pretrained",
        "metrics": {"CIDEr": 60.0, "loss": 1.3, "bad": "n/a"}, "selection": {"metric": "CIDEr", "mode": "max"}}))
    card = ModelCard.read(export)
    assert card == ModelCard("captioner", "captions, made in runs", "captions", "pretrained",
                             {"CIDEr": 60.0, "loss": 1.3}, "CIDEr")
    (export / "meta.json").write_text("{broken")
    assert ModelCard.read(export) == ModelCard("captioner")


def test_progress_is_optional():
    calls = []
    reporter(lambda fraction, desc=None: calls.append((fraction, desc)))(0.5, desc="half")
    reporter(None)(0.5, desc="nobody listens")
    assert calls == [(0.5, "half")]
