"""Running the workflow as a user would, from the tests: `python -m snakemake` in a work directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
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


PAUSE_HOOK = ROOT / "tests" / "pause"  # its sitecustomize pauses the first nst process after a checkpoint


def paused(marker: Path, at: int = 1) -> dict:
    """The environment in which the first nst process to write its `at`-th checkpoint pauses there
    (tests/pause): a test kills it, or deletes `marker` to let it run on."""
    return {**os.environ, "NST_TEST_PAUSE": str(marker), "NST_TEST_PAUSE_AT": str(at),
            "PYTHONPATH": os.pathsep.join(p for p in (str(PAUSE_HOOK), os.environ.get("PYTHONPATH")) if p)}


def wait_for_pause(marker: Path, process: subprocess.Popen, timeout: float = 600) -> None:
    """Until a paused process has written its PID into `marker` (or `process` ended, or time ran out)."""
    deadline = time.monotonic() + timeout
    while not (marker.exists() and marker.read_text()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def dag_jobs(workdir: Path, configfile: Path, snakefile: Path = ROOT / "Snakefile") -> list[tuple[str, dict, list[str]]]:
    """The jobs of the DAG `snakemake -n` would plan, as (rule, wildcards, outputs), built in this process
    through Snakemake's API (a tenth of a second, against a second and a half for a `snakemake -n`)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, Quietness, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=snakefile,
                                    config_settings=ConfigSettings(configfiles=[Path(configfile)]),
                                    workdir=Path(workdir))
        workflow_api.dag(DAGSettings())
        workflow = workflow_api._workflow
        workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        return [(job.rule.name, dict(job.wildcards.items()), [str(f) for f in job.output])
                for job in workflow.dag.jobs]


ABSENT = """
import importlib.machinery
_find = importlib.machinery.PathFinder.find_spec

def _absent(cls, name, path=None, target=None):  # the library's folder is not found, as when not installed
    return None if name.split(".")[0] == {hidden!r} else _find(name, path, target)

importlib.machinery.PathFinder.find_spec = classmethod(_absent)
"""


def without(library: str, folder: Path) -> dict:
    """An environment whose Python processes cannot find `library`, as where it is not installed (a
    sitecustomize in `folder` makes Python's path finder pass it by), for them and their children."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(ABSENT.format(hidden=library))
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}
