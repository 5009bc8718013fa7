"""Atomic output files: a reader never sees a half-written image, CSV or record.

Each output is written to a temporary file beside it and renamed into place. The temporary
file is made private (mode 0600), so it takes the mode an ordinary write would give (0666
less the umask) before the rename: results on a cluster's shared file system stay readable
by the group, and galleries by a web server, as the user's umask says.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import NSTError


class DiskFullError(NSTError):
    """No space left where an output goes; nothing half-written was left behind."""


@contextlib.contextmanager
def atomic_path(target: str | Path):
    """Yield a temporary path beside `target`; rename it onto `target` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by a process killed while writing it
        stale.unlink(missing_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.fchmod(fd, 0o666 & ~current_umask())
        os.close(fd)
        try:
            yield tmp
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                f"{target}: no space left on the device ({exc.strerror}); nothing half-written was kept: free some "
                "space and run again"
            ) from None
        raise


def current_umask() -> int:
    """The process's umask, read without changing it where Linux says it (changing it, even back
    at once, would race with other threads creating files)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text)


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
