"""Mask sets of a sweep: where each run's style goes, per content (config key `mask_sets`).

    mask_sets:
      face:                                   # a set's name: `…_mask_face` in run names
        chelsea: [data/masks/chelsea_face.png]        # the run's own style goes here
      face_and_surround:
        chelsea:
          - data/masks/chelsea_face.png               # the run's own style
          - {mask: data/masks/chelsea_surround.png, style: mosaic}   # a further region, its own style

A set lists, for each content it serves, the masks of its regions: the first is where the
run's own style goes, each further one names a key of `styles` for its region. Pixels no
mask covers keep the photo (nst's `--style-masks`). The sweep runs every content unmasked
(`none`) and with each set that lists it; a run sheet's `mask_set` column names one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config_checks import ConfigProblem

NONE = "none"


@dataclass(frozen=True)
class Regions:
    """One content's regions in a mask set: every mask, and the styles of the regions after the first."""

    masks: list[str]
    further_styles: list[str]


def regions(mask_sets: dict, name: str, content: str) -> Regions:
    """A run's regions (none for the unmasked run); the entries are checked by `check`."""
    if name == NONE:
        return Regions([], [])
    first, *further = mask_sets[name][content]
    return Regions([_mask_of(first), *(_mask_of(e) for e in further)], [e["style"] for e in further])


def serves(mask_sets: dict, name: str, content: str) -> bool:
    """Whether the set `name` has masks for `content` (the unmasked `none` serves every content)."""
    return name == NONE or content in (mask_sets.get(name) or {})


def _mask_of(entry) -> str:
    return entry if isinstance(entry, str) else entry["mask"]


def check(mask_sets, contents, styles, root: Path | None = None) -> None:
    """Every set's shape, names and files, each problem one line naming the entry."""
    if not mask_sets:
        return
    if not isinstance(mask_sets, dict):
        raise ConfigProblem(f"config mask_sets: expected a mapping of set names to {{content: [masks]}}, "
                            f"got {mask_sets!r}")
    for name, per_content in mask_sets.items():
        where = f"config mask_sets.{name}"
        if name == NONE or not str(name).isidentifier():
            raise ConfigProblem(f"{where}: a set's name must be a Python-style identifier other than {NONE!r}")
        if not isinstance(per_content, dict) or not per_content:
            raise ConfigProblem(f"{where}: expected {{content: [mask, {{mask: …, style: …}}, …]}}, got {per_content!r}")
        for content, entries in per_content.items():
            here = f"{where}.{content}"
            if content not in contents:
                raise ConfigProblem(f"{here}: {content!r} is not a key of config contents")
            if not isinstance(entries, list) or not entries:
                raise ConfigProblem(f"{here}: expected a list of masks, the first for the run's own style")
            for i, entry in enumerate(entries):
                _check_entry(entry, i, f"{here}[{i}]", styles, root)


def _check_entry(entry, index: int, where: str, styles, root: Path | None) -> None:
    if isinstance(entry, str) and index == 0:
        path = entry
    elif isinstance(entry, dict) and set(entry) <= {"mask", "style"} and "mask" in entry:
        if index > 0 and entry.get("style") not in styles:
            raise ConfigProblem(f"{where}: a further region needs style: <a key of config styles>, got "
                                f"{entry.get('style')!r}")
        if index == 0 and "style" in entry:
            raise ConfigProblem(f"{where}: the first mask is the run's own style's; name styles from the second on")
        path = entry["mask"]
    else:
        raise ConfigProblem(f"{where}: expected a mask file{' path' if index == 0 else ''} "
                            f"{'or ' if index == 0 else ''}{{mask: PATH, style: NAME}}, got {entry!r}")
    if not isinstance(path, str) or not ((root or Path.cwd()) / path).is_file():
        raise ConfigProblem(f"{where}: no such mask file {path!r}")
