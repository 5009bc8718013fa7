"""Pauses one `nst` process right after its first checkpoint, so a test can kill it at a known point.

Python imports `sitecustomize` from PYTHONPATH at start-up; a test puts this folder there and sets
NST_TEST_PAUSE to a marker path. The first process to write a checkpoint creates the marker (holding
its PID) and waits there until it is killed, or until the test deletes the marker (then it runs on);
every other process runs on. Whatever the CPU's speed, the kill then lands after a checkpoint and
before the job's end. NST_TEST_PAUSE_AT=n pauses after
the process's n-th checkpoint instead (a video chain's later frame). Nothing happens without the variable.
"""

import importlib.abc
import importlib.util
import os
import sys
import time

MARKER = os.environ.get("NST_TEST_PAUSE")
AT = int(os.environ.get("NST_TEST_PAUSE_AT", "1"))
_written = [0]


def pause_after_first_checkpoint(module):
    iterated = module.Checkpoint.iterated

    def pausing(self, iteration):
        iterated(self, iteration)
        if iteration.state is None:
            return
        _written[0] += 1
        if _written[0] != AT:  # once: released, the process runs on to its end
            return
        try:
            fd = os.open(MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # another process holds the pause
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        deadline = time.monotonic() + 600
        while os.path.exists(MARKER):
            if time.monotonic() > deadline:
                sys.exit("the paused nst process was neither killed nor released")
            time.sleep(0.05)

    module.Checkpoint.iterated = pausing


class PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches nst.checkpoint as it is imported (importing it here would load TensorFlow everywhere)."""

    def find_spec(self, name, path, target=None):
        if name != "nst.checkpoint":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            pause_after_first_checkpoint(module)

        spec.loader.exec_module = exec_module
        return spec


if MARKER:
    sys.meta_path.insert(0, PatchOnImport())
