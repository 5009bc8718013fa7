"""The sweep's table: one row per run x iteration, from each run's own history and record."""

from __future__ import annotations

import json
from pathlib import Path

SUMMARY_COLUMNS = [
    "run", "content", "style", "cw", "sw", "tvw", "stage", "size", "iteration",
    "total_loss", "content_loss", "style_loss", "tv_loss", "evaluations", "seconds",
    "backbone", "precision", "weights_source", "device",
]


def summarise(runs: list[dict], histories: list[str | Path], records: list[str | Path]):
    """A pandas DataFrame joining each run's parameters, its history rows and its record.

    `runs` holds dicts with run, content, style, cw, sw, tvw (as the workflow names them).
    """
    import pandas as pd

    frames = []
    for run, history, record_path in zip(runs, histories, records):
        table = pd.read_csv(history)
        record = json.loads(Path(record_path).read_text())
        for key in ("run", "content", "style", "cw", "sw", "tvw"):
            table[key] = run[key]
        table["backbone"] = record["backbone"]
        table["precision"] = record["precision"]
        table["weights_source"] = record["weights_source"]
        table["device"] = record["device"]
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(frames, ignore_index=True)[SUMMARY_COLUMNS]
