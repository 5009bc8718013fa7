"""Counting the PyTorch operations that launch work: on a GPU each is a kernel launched from the host.

At 512 px launches and waits were most of nst's time over a bare PyTorch loop (docs/gpu.md), so the
optimiser's operations are counted on a CPU (tests/test_optimise.py) and on a GPU
(benchmarks/lbfgs32_step.py, benchmarks/gpu.py part 8) the same way. Views and other metadata
operations make no kernel and are not counted.
"""

from __future__ import annotations

from torch.utils._python_dispatch import TorchDispatchMode

NO_KERNEL = frozenset({"view", "slice", "select", "reshape", "alias", "_unsafe_view", "t", "transpose", "expand",
                       "as_strided", "diagonal", "detach", "unsqueeze", "squeeze", "lift_fresh", "unbind",
                       "permute"})


class Launches(TorchDispatchMode):
    """`with Launches() as counted:` counts into `counted.launched`; `counting = False` pauses it
    (an objective's own work left out)."""

    def __init__(self):
        super().__init__()
        self.launched, self.counting = 0, True

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.counting and func.overloadpacket.__name__ not in NO_KERNEL:
            self.launched += 1
        return func(*args, **(kwargs or {}))
