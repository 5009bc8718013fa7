"""Checkpoints: a killed transfer picks up where it stopped and ends with the same image, bit for bit.

`nst transfer --checkpoint DIR` (and every workflow transfer) attaches a `Checkpoint`
observer. After every iteration it writes `DIR/checkpoint.npz`, in one atomic rename:

* the optimiser's state: for the article's restarted L-BFGS the point the iteration ended
  at (float64, as the optimiser holds it), for Adam its variable, step count and moments;
* the stage and iteration, the evaluation count, the history so far and the seed (the
  random generator draws only the initial noise, so nothing of it is needed later);
* a fingerprint of the run: the inputs' SHA-256, every setting, the network, its weights
  and the precision.

Each iteration's frame is kept beside it (`DIR/frames/`), so a resumed run writes every
frame again, and a finished run also keeps its final image (unrounded, so 8- and 16-bit
outputs come out the same again), history and record (status `complete`), so running it
again only writes them out. It keeps its last iteration's state too. A run that differs
from a checkpoint's only by its number of iterations goes on from it, finished or stopped,
where the loop makes their first iterations alike
(`TransferSettings.why_changed_iterations_start_afresh`) and the checkpoint holds no more
iterations than the run asks for: it ends with the image a fresh run of that many makes.

What a resume cannot restore: one long L-BFGS run (`lbfgs_restarts: false`, the fast
preset) keeps its memory inside scipy, so it resumes as a new L-BFGS from the saved image
with the remaining budget, and its result then differs from an uninterrupted run's.

A checkpoint whose fingerprint differs is never mixed in: the run says what differs, in
one line, and starts afresh. SIGTERM and SIGINT stop the run at once (the checkpoint of
the last finished iteration is already on disk); SIGKILL, even during a write, loses at
most the iteration in progress.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import images
from .errors import Interrupted
from .files import atomic_path, sha256_of, write_text_atomic
from .loss_values import Losses
from .records import HistoryRow
from .run import Iteration, Observer, RunStart, TransferResult
from .settings import INITS, TransferSettings

log = logging.getLogger("nst")

FORMAT = 1
STATE_FILE = "checkpoint.npz"


@dataclass
class Saved:
    """A checkpoint as read back."""

    meta: dict  # fingerprint, status, seed, rng, history
    state: dict  # the optimiser's state after the last finished iteration
    folder: Path

    @property
    def complete(self) -> bool:
        return self.meta["status"] == "complete"

    @property
    def history(self) -> list[HistoryRow]:
        return [
            HistoryRow(r["stage"], r["size"], r["iteration"], Losses(r["losses"]["total"], r["losses"]["parts"]),
                       r["evaluations"], r["seconds"])
            for r in self.meta["history"]
        ]

    def frame(self, iteration: int) -> np.ndarray:
        return _read_png(self.folder / "frames" / f"i_{iteration}.png")

    def record(self) -> dict:
        return json.loads((self.folder / "record.json").read_text())


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA" if image.mode == "RGBA" else "RGB"))


def fingerprint(inputs, settings, engine, plans=()) -> dict:
    """What makes a run this run: input files by content, every setting, network, weights and precision."""
    files = {"content": inputs.content_name, **{f"style {i}": s for i, s in enumerate(inputs.style_names)}}
    if settings.init not in INITS:  # a file (magenta's start follows from the content, styles and settings)
        files["init"] = settings.init
    files.update({f"mask {i}": m for i, m in enumerate(settings.style_masks)})
    return {
        "format": FORMAT,
        "inputs": {role: sha256_of(path) for role, path in files.items()},
        "guides": {name: hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
                   for name, array in inputs.guides.items()},
        "settings": settings.to_dict(),
        "backend": engine.backend.name,
        "backbone": engine.backbone,
        "weights": engine.network_weights.source,
        "precision": engine.precision,
        "plan": [plan.describe().rsplit(", about", 1)[0] for plan in plans],  # tiles and state change the numbers
    }


def differences(saved: dict, current: dict) -> list[str]:
    """What differs between two fingerprints, in words."""
    found = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += [f"{key} {d}" for d in differences(a, b)]
        elif a != b:
            found.append(f"{key}: {a!r} then, {b!r} now")
    return found


def _with_new_options(saved: dict) -> dict:
    """A fingerprint written before an option existed ran as that option's default does: its
    settings gain the defaults of the options added since, an option that became another's
    value (preserve_color, now color_transfer luminance) is read as that, and one written before
    there were two backends was TensorFlow's, so an upgrade does not restart a run."""
    if "settings" not in saved:
        return saved
    from .settings import TransferSettings, spelled_out

    return {"backend": "tensorflow", **saved,  # written before the PyTorch backend: TensorFlow's
            "settings": {**TransferSettings().to_dict(), **spelled_out(saved["settings"])}}


def load(folder: str | Path, current: dict, settings: TransferSettings) -> Saved | None:
    """The checkpoint in `folder` if it belongs to this run (fingerprint `current`, of `settings`); None
    (saying why) if there is none or it does not."""
    folder = Path(folder)
    path = folder / STATE_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            state = _unflatten({k: data[k] for k in data.files if k != "meta"})
    except (OSError, ValueError, KeyError) as exc:
        log.warning("notice: checkpoint %s cannot be read (%s); starting afresh", path, exc)
        return None
    saved = _with_new_options(meta.get("fingerprint", {}))
    differ = differences(saved, current)
    differ = [d for d in differ if not (d.startswith("settings ") and d[len("settings "):] in differ)]  # said once
    if differ and _only_iterations_differ(saved, current):
        made = sum(1 for row in meta["history"] if row["stage"] == len(settings.stages()) - 1)
        why = settings.why_changed_iterations_start_afresh()
        if why is None and made > settings.iterations:
            why = f"it holds {made} iterations, more than asked for"
        if why is None and "iteration" not in state:  # an earlier nst finished it, keeping only its image
            why = "it kept no state to go on from"
        if why is None:
            log.warning("notice: checkpoint %s holds %d of this run's iterations (it was to make %d); going on to %d",
                        folder, made, saved["settings"]["iterations"], settings.iterations)
            return Saved({**meta, "status": "running"}, state, folder)
        differ.append(why)
    if differ:
        log.warning("notice: checkpoint %s is of another run (%s); starting afresh", folder, "; ".join(differ[:3]))
        return None
    return Saved(meta, state, folder)


def _only_iterations_differ(saved: dict, current: dict) -> bool:
    """Whether `saved` is of this run but for its number of iterations."""
    before, now = saved.get("settings", {}).get("iterations"), current["settings"]["iterations"]
    return before != now and not differences({**saved, "settings": {**saved.get("settings", {}), "iterations": now}},
                                             current)


class Checkpoint(Observer):
    """Writes the checkpoint after every iteration, and marks it complete when the run ends."""

    def __init__(self, folder: str | Path, fingerprint: dict, resumed: Saved | None = None):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.last: int | None = None  # the last iteration on disk
        self.state = resumed.state if resumed is not None else {}  # the optimiser's after the last iteration

    def started(self, run: RunStart) -> None:
        self.run = run
        self.history: list[dict] = []

    def iterated(self, iteration: Iteration) -> None:
        self.history.append(_row(iteration.row))
        self.last = iteration.row.iteration
        if iteration.state is None:  # replayed from this very checkpoint
            return
        self.state = iteration.state
        with deferred_signals():
            images.save_png(iteration.rgb(), self.folder / "frames" / f"i_{iteration.row.iteration}.png")
            self._save("running", iteration.state)

    def finished(self, result: TransferResult) -> None:
        if result.status != "completed":
            return
        # the last iteration's state, where a run of more iterations would go on from it
        state = self.state if self.run.settings.why_changed_iterations_start_afresh() is None else {}
        with deferred_signals():
            write_text_atomic(self.folder / "record.json", json.dumps(result.record.to_dict(), default=str))
            self._save("complete", {**state, "x": result.x})

    def _save(self, status: str, state: dict) -> None:
        meta = {
            "fingerprint": self.fingerprint,
            "status": status,
            "seed": self.run.seed,
            "history": self.history,
        }
        arrays = {"meta": np.array(json.dumps(meta)), **_flatten(state)}
        with atomic_path(self.folder / STATE_FILE) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())


def _row(row: HistoryRow) -> dict:
    return {"stage": row.stage, "size": row.size, "iteration": row.iteration,
            "losses": {"total": row.losses.total, "parts": dict(row.losses.parts)},
            "evaluations": row.evaluations, "seconds": row.seconds}


def _flatten(state: dict) -> dict:
    """Optimiser state -> npz entries: arrays as they are, numbers as 0-d arrays, lists as `key/i`."""
    flat = {}
    for key, value in state.items():
        if isinstance(value, list):
            flat.update({f"{key}/{i}": np.asarray(v) for i, v in enumerate(value)})
        else:
            flat[key] = np.asarray(value)
    return flat


def _unflatten(flat: dict) -> dict:
    state: dict = {}
    lists: dict[str, dict[int, np.ndarray]] = {}
    for key, value in flat.items():
        if "/" in key:
            name, index = key.rsplit("/", 1)
            lists.setdefault(name, {})[int(index)] = value
        else:
            state[key] = value.item() if value.ndim == 0 else value
    for name, items in lists.items():
        state[name] = [items[i] for i in sorted(items)]
    return state


# --- signals ------------------------------------------------------------------------------


_writing = threading.local()
_pending: list[int] = []


@contextlib.contextmanager
def deferred_signals():
    """A checkpoint write is not cut short by SIGTERM/SIGINT: they take effect right after it."""
    _writing.active = True
    try:
        yield
    finally:
        _writing.active = False
        if _pending:
            raise Interrupted(_pending.pop())


@contextlib.contextmanager
def stop_on_signals():
    """While a run lasts, SIGTERM (scancel, Slurm's time limit) and SIGINT (Ctrl-C) raise `Interrupted`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if getattr(_writing, "active", False):
            _pending.append(signum)
            return
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        _pending.clear()
        for s, h in previous.items():
            signal.signal(s, h)

