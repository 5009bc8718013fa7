"""The sweep's table: one row per run x iteration (a video run: per frame), from each run's own
history and record.

Its loss columns are whatever the runs' histories hold (`total_loss`, then one
`<term>_loss` per loss term), so a new term appears here without an edit.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..records import history_columns
from .naming import AXES
from .runs import weight_columns

RECORD_COLUMNS = ["backbone", "precision", "weights_source", "device"]


def summarise(runs: list[dict], histories: list[str | Path], records: list[str | Path]):
    """A pandas DataFrame joining each run's parameters, its history rows and its record.

    `runs` are rows of the run table (nst.workflow.runs): run, content, style and one
    `<term>_weight` per term of the sweep, so the weight columns follow the terms the runs have.
    """
    import pandas as pd

    keys = runs[0].keys() if runs else []
    run_columns = ["run", "content", "style", *weight_columns(keys), *(axis for axis in AXES if axis in keys)]
    frames = []
    for run, history, record_path in zip(runs, histories, records):
        table = pd.read_csv(history)
        record = json.loads(Path(record_path).read_text())
        for key in run_columns:
            table[key] = run[key]
        for key in RECORD_COLUMNS:
            table[key] = record[key]
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=run_columns + RECORD_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    # every term's loss column together, whichever runs have it (a term some runs lack comes last otherwise)
    terms = [c[: -len("_loss")] for c in table.columns if c.endswith("_loss") and c != "total_loss"]
    history = [c for c in ["frame", *history_columns(terms)] if c in table.columns]  # a video's rows: frames
    return table[run_columns + history + RECORD_COLUMNS]


def summarise_all(parts: list[tuple[list[dict], list, list]]):
    """The images' and the videos' tables (each `summarise`'s arguments) as one: a video's rows
    have `frame` where an image's have `stage`, `size` and `iteration`."""
    import pandas as pd

    tables = [summarise(*part) for part in parts if part[0]]
    if not tables:
        return summarise([], [], [])
    table = pd.concat(tables, ignore_index=True)
    losses = [c for c in table.columns if c.endswith("_loss") and c != "total_loss"]
    first = [c for c in table.columns if c not in losses and c not in ("evaluations", "seconds", *RECORD_COLUMNS)]
    return table[[*first, *losses, "evaluations", "seconds", *RECORD_COLUMNS]]
