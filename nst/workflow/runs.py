"""The run table of a sweep: every content x style x weights it runs, by term name.

A run's weights are a mapping from loss-term name to weight, in summing order. A config's
`weights:` entry is the article's `[cw, sw, tvw]` triple or such a mapping
(`{content: 0.025, style: 5, tv: 1, temporal: 200}`); the terms an entry leaves out keep the
sweep's defaults (the article's three weights and `nst.terms`). A run sheet (TSV, config key
`runs`) lists runs row by row: `content`, `style`, and one `<term>_weight` column per term it
sets (the article's `cw`, `sw`, `tvw` columns are read as the three built-in terms'); an empty
cell keeps the default. So sweeping a new term's weight is a config edit, never a workflow edit.

Everything here is plain Python over pandas, called by common.smk when Snakemake parses the
workflow; a problem is one `ConfigProblem` line naming the entry, row or column.
"""

from __future__ import annotations

import math
from pathlib import Path

from . import naming
from .config_checks import ConfigProblem

# The article's column names in run sheets, read as the built-in terms' weights.
ALIASES = {short: term for term, short in naming.ARTICLE_NAMES.items()}
SUFFIX = naming.weight_column("")


def _weight(value, where: str) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        weight = math.nan
    if isinstance(value, bool) or not math.isfinite(weight) or weight < 0:
        raise ConfigProblem(f"{where}: a weight must be a number >= 0, got {value!r}")
    return weight


def _term(name, where: str) -> str:
    term = ALIASES.get(name, name)
    if not isinstance(term, str) or not term.isidentifier():
        raise ConfigProblem(f"{where}: {name!r} is not a loss term's name (terms are named like Python identifiers)")
    return term


def entry_weights(entry, defaults: dict[str, float], where: str) -> dict[str, float]:
    """One `weights:` entry (a `[cw, sw, tvw]` list or a mapping by term name) over the defaults."""
    if isinstance(entry, (list, tuple)):
        if len(entry) != 3:
            raise ConfigProblem(f"{where}: a list is the article's [cw, sw, tvw] triple; for other terms give a "
                                f"mapping by name ({{content: 0.025, style: 5, tv: 1, temporal: 200}}), got {entry!r}")
        given = dict(zip(naming.ARTICLE_NAMES, entry))
    elif isinstance(entry, dict) and entry:
        given = {}
        for name, value in entry.items():
            term = _term(name, where)
            if term in given:
                raise ConfigProblem(f"{where}: the weight of {term!r} is given twice ({name!r} is its short name)")
            given[term] = value
    else:
        raise ConfigProblem(f"{where}: expected [cw, sw, tvw] or a mapping by term name, got {entry!r}")
    return {**defaults, **{term: _weight(value, f"{where}, {term}") for term, value in given.items()}}


def check_entries(entries) -> None:
    """Each `weights:` entry's shape and numbers, said in one line before the schema's longer words."""
    if entries is None:
        return
    if not isinstance(entries, list) or not entries:
        raise ConfigProblem(f"config weights: expected a list of [cw, sw, tvw] triples or mappings by term name, "
                            f"got {entries!r}")
    for i, entry in enumerate(entries):
        entry_weights(entry, {}, f"config weights, entry {i + 1}")


def read_run_sheet(path: str | Path, contents, styles, defaults: dict[str, float]) -> list[tuple[str, str, dict]]:
    """The runs of a TSV sheet as (content, style, weights), checked row by row."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ConfigProblem(f"config key runs: no such run sheet {path}")
    sheet = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False).rename(columns=str.strip)
    missing = [c for c in ("content", "style") if c not in sheet.columns]
    if missing:
        raise ConfigProblem(f"run sheet {path}: no {' or '.join(missing)} column (columns: content, style, "
                            "then <term>_weight or the article's cw, sw, tvw)")
    terms = {}
    for column in sheet.columns:
        if column in ("content", "style"):
            continue
        if column in ALIASES:
            terms[column] = ALIASES[column]
        elif column.endswith(SUFFIX) and column[: -len(SUFFIX)].isidentifier():
            terms[column] = column[: -len(SUFFIX)]
        else:
            raise ConfigProblem(f"run sheet {path}: column {column!r} is neither content, style, <term>{SUFFIX} "
                                "nor one of the article's cw, sw, tvw")
    repeated = [t for t in set(terms.values()) if list(terms.values()).count(t) > 1]
    if repeated:
        raise ConfigProblem(f"run sheet {path}: the weight of {repeated[0]!r} has two columns")
    runs = []
    for index, row in sheet.iterrows():
        where = f"run sheet {path}, row {index + 2}"
        for kind, column, known in (("contents", "content", contents), ("styles", "style", styles)):
            if row[column] not in known:
                raise ConfigProblem(f"{where}: {column} {row[column]!r} is not a key of config {kind}")
        weights = {term: _weight(row[column], f"{where}, column {column}")
                   for column, term in terms.items() if row[column].strip()}
        runs.append((row["content"], row["style"], {**defaults, **weights}))
    return runs


def build_runs(contents, styles, weight_entries, defaults: dict[str, float], run_sheet: str = ""):
    """The run table: one row per run, indexed by run name.

    Columns: `content`, `style`, one `<term>_weight` per term any run has (the weight as the
    article writes numbers; empty where a run lacks the term), `weights` (the weights' part of
    the run name), `pair` and `run`.
    """
    import pandas as pd

    if run_sheet:
        combos = read_run_sheet(run_sheet, contents, styles, defaults)
    else:
        every = [entry_weights(e, defaults, f"config weights, entry {i + 1}") for i, e in enumerate(weight_entries)]
        combos = [(c, s, w) for c in contents for s in styles for w in every]
    terms = list(dict.fromkeys(term for _, _, weights in combos for term in weights))
    rows = []
    for content, style, weights in combos:
        written = {term: naming.number(weight) for term, weight in weights.items()}
        pair, name = naming.pair_name(content, style), naming.weights_name(weights)
        rows.append({
            "content": content,
            "style": style,
            **{naming.weight_column(t): written.get(t, "") for t in terms},
            "weights": name,
            "pair": pair,
            "run": naming.run_name(pair, name),
        })
    table = pd.DataFrame(rows, columns=["content", "style", *map(naming.weight_column, terms), "weights", "pair",
                                        "run"])
    for run, same in table.groupby("run"):
        pairs = sorted(set(zip(same["content"], same["style"])))
        if len(pairs) > 1:
            raise ConfigProblem(f"config: contents x styles {pairs[0]} and {pairs[1]} would both be named {run}; "
                                "rename one of the images (avoid '_s_' in names)")
    return table.drop_duplicates("run").set_index("run", drop=False)


def weight_columns(columns) -> list[str]:
    """The `<term>_weight` names among a run table's or summary's columns, in order."""
    return [c for c in columns if isinstance(c, str) and c.endswith(SUFFIX) and c[: -len(SUFFIX)].isidentifier()]


def run_weights(row) -> dict[str, float]:
    """One run's weights by term name, from its row (a dict or a pandas row) of a run table or summary."""
    return {column[: -len(SUFFIX)]: float(row[column]) for column in weight_columns(row.keys())
            if str(row[column]).strip() not in ("", "nan")}
