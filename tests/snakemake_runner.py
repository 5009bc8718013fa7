"""Running the workflow as a user would, from the tests: `python -m snakemake` in a work directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


def snakemake(workdir: Path, *args, check=True, timeout=900, env=None, snakefile=ROOT / "Snakefile", umask=-1
              ) -> subprocess.CompletedProcess:
    done = subprocess.run([*SNAKEMAKE[:-1], str(snakefile), "--directory", str(workdir), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, umask=umask,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-4000:]
    return done


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table Snakemake prints (a dry run's plan, or a run's jobs)."""
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
