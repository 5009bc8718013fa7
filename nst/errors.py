"""Errors a user can act on.

Every failure caused by input (an image, a setting, missing weights) is raised as
`NSTError`, whose message names the file or option and says what to do. The CLI
prints it as one line and exits with code 2, so no library traceback reaches a user.
`Interrupted` (SIGTERM, SIGINT) lives here too: every workflow script catches it, and this
module imports nothing heavy (a grid or GIF job's Python starts in a tenth of the time).
"""

from __future__ import annotations

import re
import signal


def say(line: str, stream) -> None:
    """`line` and its newline in one write. Where stderr is not a terminal Python writes through, and
    print() writes the text and the newline apart, so another process on the same stream (Snakemake,
    on a job's stderr) can put its own words between them: "…mirror to itRuleException:"."""
    stream.write(line + "\n")
    stream.flush()


def did_you_mean(word: str, choices) -> str:
    """` (did you mean 'x'?)` for the choice `word` is most likely a slip of (difflib's closest, else the first
    one inside the other or at most two letters apart as sets), or "" where none is."""
    import difflib

    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6) or [
        c for c in choices if _similar(str(word), c)]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _similar(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a in b or b in a or len(set(a) ^ set(b)) <= 2


class NSTError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class ImageError(NSTError):
    """An image file that cannot be used: unreadable, corrupt, too small, too large."""


class SettingsError(NSTError):
    """An option with a value outside what the algorithm accepts.

    `SettingsError(option, problem)` names the option, so the CLI can say "option X" and the
    workflow "config key nst.X"; `SettingsError(message)` is for problems of no one option.
    """

    def __init__(self, option: str, problem: str | None = None):
        self.option, self.problem = (option, problem) if problem is not None else (None, option)
        super().__init__(f"option {option}: {problem}" if problem is not None else option)


class WeightsError(NSTError):
    """Network weights that cannot be found, read, or trusted."""


class DivergedError(NSTError):
    """The loss became NaN or Inf. Carries the last good image (preprocessed, or None).

    The optimiser raises it where it happens; the run loop saves the last good image and
    fills in `kept` (what was saved, and where) before it reaches the user.
    """

    def __init__(self, last_good, iteration: int, evaluation: int):
        super().__init__()
        self.last_good = last_good
        self.iteration = iteration
        self.evaluation = evaluation
        self.kept = ""

    def __str__(self) -> str:
        where = f"non-finite loss at iteration {self.iteration}, evaluation {self.evaluation}"
        if not self.kept:
            return f"optimisation diverged ({where})"
        return f"optimisation diverged ({where}); {self.kept}. Lower the loss weights or use --precision float32"


# PyTorch's words when Apple's MPS has no kernel for an operation (pytorch/pytorch#141287 lists them)
_NO_MPS_KERNEL = re.compile(r"operator '([^']+)' is not currently implemented for the MPS device")
# ... and when a GPU's memory runs out (torch.OutOfMemoryError on CUDA and ROCm; a RuntimeError on MPS)
_OUT_OF_MEMORY = re.compile(r"(CUDA|HIP|MPS backend) out of memory")
_ASKED = re.compile(r"Tried to allocate ([\d.]+ [KMGT]?i?B)")


def from_library(exc: BaseException) -> NSTError | None:
    """A library's error the user can act on, as one line; None for any other.

    PyTorch on Apple's MPS lacks kernels for some operations, varying by version, and says so with
    a NotImplementedError: run again with PyTorch's fallback (that operation on the CPU), or on the CPU.
    A GPU out of memory: nst plans within the memory free when a run starts, so another process may
    have taken some since (another transfer job of a sweep sharing the GPU, most often).
    """
    text = str(exc)
    found = _NO_MPS_KERNEL.search(text) if isinstance(exc, NotImplementedError) else None
    if found is not None:
        return SettingsError("device", f"mps: this PyTorch has no MPS kernel for {found.group(1)}; run again with "
                                       "PYTORCH_ENABLE_MPS_FALLBACK=1 in the environment (that operation then runs on "
                                       "the CPU; a checkpointed run resumes), or with --device cpu")
    if isinstance(exc, RuntimeError) and _OUT_OF_MEMORY.search(text):
        asked = _ASKED.search(text)
        more = f" (it asked for {asked.group(1)} more)" if asked else ""
        return NSTError(f"the GPU ran out of memory{more}: nst planned within what was free when the run started, "
                        "and another process may have taken some since; in a workflow run one transfer at a time on a GPU "
                        "(`--resources gpu=1`, profiles/default), or plan with less (--max-memory) or a smaller "
                        "--size; a checkpointed run resumes")
    return None


class Interrupted(Exception):
    """SIGTERM or SIGINT: the run stops now; the checkpoint holds the last finished iteration."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum
        self.detail = ""

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}" + (f"; {self.detail}" if self.detail else "")
