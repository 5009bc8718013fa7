"""Pin the tested stack: envs/constraints.txt from an environment, envs/nst.yaml from the constraints.

    python envs/pin.py freeze PYTHON   write envs/constraints.txt from PYTHON's installed packages
    python envs/pin.py conda           rewrite envs/nst.yaml's pip pins from envs/constraints.txt

`make pin` runs both on a fresh environment with the newest versions of everything; `make setup`
installs with `pip -c envs/constraints.txt`, and tests/test_pins.py checks the two files agree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONSTRAINTS = HERE / "constraints.txt"
CONDA = HERE / "nst.yaml"
HEADER = """\
# The versions the test suite passed with (`make setup` installs with pip -c this file).
# Refresh deliberately with `make pin` (newest of everything, then rewrites envs/nst.yaml to
# match), run `make test`, and commit both files only if it passes.
"""
PIP_LINE = re.compile(r"^(\s*- )([A-Za-z0-9_.\-\[\]]+?)\s*(?:[<>=!~]=?[^#\s]*)?(\s*#.*)?$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints(path: Path = CONSTRAINTS) -> dict[str, str]:
    """canonical name -> pinned version."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonical(name)] = version.strip()
    return pins


def conda_pip_lines(text: str) -> list[str]:
    """The entries of envs/nst.yaml's `pip:` list, as written."""
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(r"^\s*- pip:\s*$", line):
            inside = True
        elif inside and PIP_LINE.match(line):
            lines.append(line)
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            inside = False
    return lines


def freeze(python: str) -> None:
    frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True,
                            check=True).stdout
    pins = [line for line in frozen.splitlines() if "==" in line and not line.startswith("#")]
    # the GPU extra's TensorFlow (`pip install -c … .[gpu]`) at the version the CPU wheel was tested in
    pins += [f"tensorflow=={line.split('==')[1]}" for line in pins if canonical(line.split("==")[0]) == "tensorflow-cpu"]
    pins.sort(key=lambda line: canonical(line.split("==")[0]))
    CONSTRAINTS.write_text(HEADER + "\n".join(pins) + "\n")


def pin_conda() -> None:
    pins = read_constraints()
    text = CONDA.read_text()
    entries = set(conda_pip_lines(text))
    out = []
    for line in text.splitlines():
        if line in entries:
            indent, name, comment = PIP_LINE.match(line).groups()
            base = canonical(name.split("[")[0])
            if base not in pins:
                sys.exit(f"envs/nst.yaml: {name} is not in envs/constraints.txt; add it to pyproject.toml and run make pin")
            line = f"{indent}{name}=={pins[base]}{comment or ''}"
        out.append(line)
    CONDA.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["freeze"] and len(sys.argv) == 3:
        freeze(sys.argv[2])
    elif sys.argv[1:] == ["conda"]:
        pin_conda()
    else:
        sys.exit(__doc__)
