"""The lock files are the tested set: they pin every package, agree with pyproject's ranges,
and are what the README, CI and the running environment use."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from mmdemo.config import REPO_ROOT

RUN_LOCK, TEST_LOCK = REPO_ROOT / "requirements.txt", REPO_ROOT / "requirements-test.txt"
TORCHVISION_FOR = {"2.11": "0.26."}  # torch release line -> the torchvision built against it


def pins(path) -> dict[str, str]:
    """name -> version for every ``name==version`` line that applies on this platform."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        requirement = Requirement(line)
        assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", line
        if requirement.marker is None or requirement.marker.evaluate():
            found[canonicalize_name(requirement.name)] = next(iter(requirement.specifier)).version
    return found


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def locked() -> dict[str, str]:
    return {**pins(RUN_LOCK), **pins(TEST_LOCK)}


def test_test_lock_builds_on_the_run_lock_without_repeating_it():
    assert "-r requirements.txt" in TEST_LOCK.read_text(encoding="utf-8").splitlines()
    assert not set(pins(RUN_LOCK)) & set(pins(TEST_LOCK))


def test_every_declared_range_is_pinned_inside_it(pyproject, locked):
    declared = pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["test"]
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is declared but not locked"
        assert requirement.specifier.contains(locked[name], prereleases=True), (line, locked[name])


def test_the_torch_trio_is_one_that_loads_together(locked):
    assert locked["torchaudio"] == locked["torch"]  # torchaudio 2.11.1 does not load with torch 2.11.0
    assert locked["torchvision"].startswith(TORCHVISION_FOR[locked["torch"].rsplit(".", 1)[0]])


def test_the_locked_trio_loads_and_computes():
    import torch
    import torchaudio  # hear21passt's preprocessing imports it

    assert torchaudio.__version__.split("+")[0] == torch.__version__.split("+")[0]
    assert torchaudio.functional.compute_deltas(torch.zeros(1, 4, 9)).shape == (1, 4, 9)
    import torchvision.ops

    assert torchvision.ops.nms(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([1.0]), 0.5).tolist() == [0]


def test_the_lock_is_closed_under_dependencies(locked):
    """Every requirement of every locked package is itself locked: nothing is left to the resolver."""
    environment = default_environment()
    missing = set()
    for name in locked:
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue
            if canonicalize_name(requirement.name) not in locked:
                missing.add(f"{name} -> {requirement}")
    assert not missing, sorted(missing)


def test_this_environment_is_the_locked_one(locked):
    """The suite runs on exactly the locked versions (CI builds its venv from the lock)."""
    differ = {name: (version, metadata.version(name)) for name, version in locked.items()
              if metadata.version(name) != version}
    assert not differ, differ


def test_python_range_is_what_ci_and_spaces_run(pyproject):
    claimed = SpecifierSet(pyproject["project"]["requires-python"])
    assert claimed.contains(f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}")
    front_matter = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    spaces = re.search(r'python_version: "?([\d.]+)', front_matter).group(1)
    assert claimed.contains(spaces + ".0")
    assert "python3.11 -m venv" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    sdk = re.search(r"sdk_version: ([\d.]+)", front_matter).group(1)
    assert pins(RUN_LOCK)["gradio"] == sdk  # Spaces installs gradio from the front matter
