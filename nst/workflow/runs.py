"""The run table of a sweep: every content x style x weights it runs, by term name.

A run's weights are a mapping from loss-term name to weight, in summing order. A config's
`weights:` entry is the article's `[cw, sw, tvw]` triple or such a mapping
(`{content: 0.025, style: 5, tv: 1, temporal: 200}`); the terms an entry leaves out keep the
sweep's defaults (the article's three weights and `nst.terms`). A run sheet (TSV, config key
`runs`) lists runs row by row: `content`, `style`, and one `<term>_weight` column per term it
sets (the article's `cw`, `sw`, `tvw` columns are read as the three built-in terms'); an empty
cell keeps the default. So sweeping a new term's weight is a config edit, never a workflow edit.

Beside the weights, a sweep has other axes (`naming.AXES`): the colour mode (config key
`color_transfers`, run-sheet column `color_transfer`) and the mask set (config key `mask_sets`,
nst.workflow.mask_sets; run-sheet column `mask_set`). Every content x style x weights runs at
each colour mode, unmasked and with each mask set that lists its content; a run's variant (the
part of its name after the pair) names each value off its default.

Everything here is plain Python over pandas, called by common.smk when Snakemake parses the
workflow; a problem is one `ConfigProblem` line naming the entry, row or column.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..terms import unknown_term
from . import mask_sets as masks
from . import naming
from .config_checks import ConfigProblem

# The article's column names in run sheets, read as the built-in terms' weights.
ALIASES = {short: term for term, short in naming.ARTICLE_NAMES.items()}
SUFFIX = naming.weight_column("")
# The axes that are nst options, given to each run's settings as they are (the mask set becomes masks).
OPTION_AXES = ("color_transfer",)


def _weight(value, where: str) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        weight = math.nan
    if isinstance(value, bool) or not math.isfinite(weight) or weight < 0:
        raise ConfigProblem(f"{where}: a weight must be a number >= 0, got {value!r}")
    return weight


def _term(name, where: str, known: list[str] | None = None) -> str:
    term = ALIASES.get(name, name)
    if not isinstance(term, str) or not term.isidentifier():
        raise ConfigProblem(f"{where}: {name!r} is not a loss term's name (terms are named like Python identifiers)")
    if known is not None and term not in known:
        raise ConfigProblem(f"{where}: {unknown_term(term)}")
    return term


def entry_loss_weights(entry, defaults: dict[str, float], where: str, known: list[str] | None = None) -> dict[str, float]:
    """One `weights:` entry (a `[cw, sw, tvw]` list or a mapping by term name) over the defaults;
    `known`: the terms' names a mapping may use (any identifier where None)."""
    if isinstance(entry, (list, tuple)):
        if len(entry) != 3:
            raise ConfigProblem(f"{where}: a list is the article's [cw, sw, tvw] triple; for other terms give a "
                                f"mapping by name ({{content: 0.025, style: 5, tv: 1, temporal: 200}}), got {entry!r}")
        given = dict(zip(naming.ARTICLE_NAMES, entry))
    elif isinstance(entry, dict) and entry:
        given = {}
        for name, value in entry.items():
            term = _term(name, where, known)
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
        entry_loss_weights(entry, {}, f"config weights, entry {i + 1}")


def read_run_sheet(path: str | Path, contents, styles, defaults: dict[str, float],
                   axis_defaults: dict | None = None, mask_sets: dict | None = None, known: list[str] | None = None
                   ) -> list[tuple[str, str, dict, dict]]:
    """The runs of a TSV sheet as (content, style, weights, axis values), checked row by row."""
    axis_defaults = axis_defaults or {}
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
        if column in ("content", "style") or column in naming.AXES:
            continue
        if column in ALIASES:
            terms[column] = ALIASES[column]
        elif weight_columns([column]):
            terms[column] = _term(column[: -len(SUFFIX)], f"run sheet {path}, column {column!r}", known)
        else:
            raise ConfigProblem(f"run sheet {path}: column {column!r} is neither content, style, <term>{SUFFIX}, "
                                f"one of the article's cw, sw, tvw, nor {', '.join(naming.AXES)}")
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
        options = {axis: (row[axis].strip() if axis in sheet.columns else "") or axis_defaults.get(axis, default)
                   for axis, (_, default) in naming.AXES.items()}
        if options["mask_set"] != masks.NONE and options["mask_set"] not in (mask_sets or {}):
            raise ConfigProblem(f"{where}: mask_set {options['mask_set']!r} is not a key of config mask_sets")
        if not masks.serves(mask_sets or {}, options["mask_set"], row["content"]):
            raise ConfigProblem(f"{where}: mask set {options['mask_set']!r} has no masks for content "
                                f"{row['content']!r}")
        runs.append((row["content"], row["style"], {**defaults, **weights}, options))
    return runs


def build_runs(contents, styles, weight_entries, defaults: dict[str, float], run_sheet: str = "",
               axes: dict[str, list] | None = None, mask_sets: dict | None = None, ignore: tuple = (),
               known: list[str] | None = None):
    """The run table: one row per run, indexed by run name.

    `axes` gives each sweep axis's values (an empty list, or none given, takes the axis's
    default; a run sheet's empty cells take its first value); the mask set's are `none` and
    every key of `mask_sets`, each for the contents it lists. Columns: `content`, `style`, one
    `<term>_weight` per term any run has (the weight as the article writes numbers; empty where
    a run lacks the term), one column per axis, `variant` (the run name's part after the pair),
    `pair` and `run`. Terms in `ignore` are left out of every run (a video's temporal weight, for
    the still images of the same sweep). `known`: the loss terms' names (nst.terms.known_terms); a
    weight of any other term is refused.
    """
    import itertools

    import pandas as pd

    mask_sets = mask_sets or {}
    axes = {**(axes or {}), "mask_set": [masks.NONE, *mask_sets]}
    values = {axis: list(axes.get(axis) or [default]) for axis, (_, default) in naming.AXES.items()}
    if run_sheet:
        combos = read_run_sheet(run_sheet, contents, styles, defaults, {a: v[0] for a, v in values.items()},
                                mask_sets, known)
    else:
        every = [entry_loss_weights(e, defaults, f"config weights, entry {i + 1}", known)
                 for i, e in enumerate(weight_entries)]
        options = [dict(zip(values, chosen)) for chosen in itertools.product(*values.values())]
        combos = [(c, s, w, o) for c in contents for s in styles for w in every for o in options
                  if masks.serves(mask_sets, o["mask_set"], c)]
    combos = [(c, s, {t: w for t, w in weights.items() if t not in ignore}, o) for c, s, weights, o in combos]
    terms = list(dict.fromkeys(term for _, _, weights, _ in combos for term in weights))
    rows = []
    for content, style, weights, options in combos:
        written = {term: naming.number(weight) for term, weight in weights.items()}
        pair, variant = naming.pair_name(content, style), naming.variant_name(weights, options)
        rows.append({
            "content": content,
            "style": style,
            **{naming.weight_column(t): written.get(t, "") for t in terms},
            **options,
            "variant": variant,
            "pair": pair,
            "run": naming.run_name(pair, variant),
        })
    columns = ["content", "style", *map(naming.weight_column, terms), *naming.AXES, "variant", "pair", "run"]
    table = pd.DataFrame(rows, columns=columns)
    for run, same in table.groupby("run"):
        pairs = sorted(set(zip(same["content"], same["style"])))
        if len(pairs) > 1:
            raise ConfigProblem(f"config: contents x styles {pairs[0]} and {pairs[1]} would both be named {run}; "
                                "rename one of the images (avoid '_s_' in names)")
    return table.drop_duplicates("run").set_index("run", drop=False)


def weight_columns(columns) -> list[str]:
    """The `<term>_weight` names among a run table's or summary's columns, in order."""
    return [c for c in columns if isinstance(c, str) and c.endswith(SUFFIX) and c[: -len(SUFFIX)].isidentifier()]


def run_loss_weights(row) -> dict[str, float]:
    """One run's weights by term name, from its row (a dict or a pandas row) of a run table or summary."""
    return {column[: -len(SUFFIX)]: float(row[column]) for column in weight_columns(row.keys())
            if str(row[column]).strip() not in ("", "nan")}


def run_axes(row) -> dict:
    """One run's values on the sweep axes, from its row (a summary written before an axis existed lacks it)."""
    return {axis: row[axis] for axis in naming.AXES if axis in row.keys()}


def run_options(row) -> dict:
    """The nst options among a run's axes, by name."""
    return {axis: value for axis, value in run_axes(row).items() if axis in OPTION_AXES}


def run_label(row) -> str:
    """How galleries, grids, plots and the report name a run's variant: its weights and axes."""
    return naming.variant_label(run_loss_weights(row), run_axes(row))


def run_settings(base: dict, weights: dict[str, float], options: dict, **extra):
    """One run's TransferSettings: the sweep's (`base`, a settings dict), its axes' values and its weights."""
    from ..settings import TransferSettings

    return TransferSettings(**{**base, **options, **extra}).with_loss_weights(weights)
