"""Loss curves of a sweep (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_path
from .naming import pair_label
from .runs import run_label


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


TITLES = {"tv": "total variation"}


def loss_columns(table) -> list[str]:
    """`total_loss` and one `<term>_loss` column per loss term, in the table's order."""
    return [c for c in table.columns if c.endswith("_loss")]


def _weights(row) -> str:
    return run_label(row)


def pair_curves(table, title: str, path: str | Path) -> None:
    """The total loss and each term's against iteration, one line per run's weights."""
    plt = _pyplot()
    columns = loss_columns(table)
    fig, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 3.8), constrained_layout=True)
    for (_, group) in table.groupby("run", sort=False):
        name = _weights(group.iloc[0])
        for ax, column in zip(axes, columns):
            ax.plot(group["iteration"], group[column], marker="o", markersize=3, label=name)
    for ax, column in zip(axes, columns):
        term = column[: -len("_loss")]
        ax.set_title(f"{TITLES.get(term, term.replace('_', ' '))} loss")
        ax.set_xlabel("iteration")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    _save(fig, path)


def sweep_curves(table, path: str | Path) -> None:
    """Total loss against seconds for every run of the sweep, coloured by content x style (a video
    run: each frame's final loss at the time it was done)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5.5), constrained_layout=True)
    pairs = list(dict.fromkeys(zip(table["content"], table["style"])))
    colours = plt.get_cmap("tab10")
    styles = ["-", "--", ":", "-."]
    weights = list(dict.fromkeys(_weights(row) for _, row in table.iterrows()))
    for (_, group) in table.groupby("run", sort=False):
        first = group.iloc[0]
        colour = colours(pairs.index((first["content"], first["style"])) % 10)
        line = styles[weights.index(_weights(first)) % len(styles)]
        # a video run's rows are its frames, each with its own seconds: plotted as the clip progresses
        video = "frame" in group and group["frame"].notna().all()
        seconds = group["seconds"].cumsum() if video else group["seconds"]
        ax.plot(seconds, group["total_loss"], line, color=colour, marker=".",
                label=f"{pair_label(first['content'], first['style'])}, {_weights(first)}")
    ax.set_xlabel("seconds")
    ax.set_ylabel("total loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("every run of the sweep")
    _save(fig, path)


def _save(fig, path) -> None:
    plt = _pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
