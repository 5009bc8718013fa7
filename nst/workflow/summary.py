"""The sweep's table: one row per run x iteration, from each run's own history and record.

Its loss columns are whatever the runs' histories hold (`total_loss`, then one
`<term>_loss` per loss term), so a new term appears here without an edit.
"""

from __future__ import annotations

import json
from pathlib import Path

RUN_COLUMNS = ["run", "content", "style", "cw", "sw", "tvw"]
RECORD_COLUMNS = ["backbone", "precision", "weights_source", "device"]


def summarise(runs: list[dict], histories: list[str | Path], records: list[str | Path]):
    """A pandas DataFrame joining each run's parameters, its history rows and its record.

    `runs` holds dicts with run, content, style, cw, sw, tvw (as the workflow names them).
    """
    import pandas as pd

    frames = []
    for run, history, record_path in zip(runs, histories, records):
        table = pd.read_csv(history)
        record = json.loads(Path(record_path).read_text())
        for key in RUN_COLUMNS:
            table[key] = run[key]
        for key in RECORD_COLUMNS:
            table[key] = record[key]
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=RUN_COLUMNS + RECORD_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    history_columns = [c for c in table.columns if c not in RUN_COLUMNS + RECORD_COLUMNS]
    return table[RUN_COLUMNS + history_columns + RECORD_COLUMNS]
