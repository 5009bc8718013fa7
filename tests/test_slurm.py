"""The workflow through a real one-node Slurm (tests/slurm/cluster.sh) with profiles/slurm.

The profile is used as a cluster user would: copied, with its marked lines edited for this
cluster (partition, CPUs per GPU), plus the two settings a cluster without accounting needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from snakemake_runner import ROOT, job_counts, snakemake

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
DATA = ROOT / "data"

# One xdist worker runs this whole file (--dist loadfile), so the module's Slurm is started and
# stopped once, by that worker; these tests mostly wait for Slurm while the other worker runs the rest.
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("apt-get"),
                                reason="a test Slurm needs root and Debian's packages")


@pytest.fixture(scope="module")
def slurm():
    subprocess.run(["bash", str(CLUSTER), "up"], check=True, timeout=600)
    yield
    subprocess.run(["bash", str(CLUSTER), "down"], check=True, timeout=120)


def tiny_config(workdir: Path, contents: dict) -> Path:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump({
        "contents": contents,
        "styles": {"mosaic": str(DATA / "styles/mosaic.png")},
        "weights": [[0.025, 5, 1], [0.025, 0.5, 1]],
        "size": 48,
        "grid_cell": 48,
        "nst": {"iterations": 2, "evals_per_iteration": 3, "precision": "float32"},
    }))
    return path


def cluster_profile(workdir: Path) -> Path:
    """profiles/slurm with its EDIT lines set for the test cluster."""
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"]["slurm_partition"] = "main"
    for rule in ("transfer", "transfer_pair"):
        profile["set-resources"][rule] = {**profile["set-resources"][rule], "cpus_per_gpu": 1}
        profile["set-threads"][rule] = 1
    # no accounting database here: ask squeue, start asking after 5 s instead of 40, and every 2 s
    # instead of 10 (the waits between status checks were most of these tests' time)
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 5
    profile["seconds-between-status-checks"] = 2
    folder = workdir / "profile"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def submitted(output: str, rule: str) -> list[str]:
    return re.findall(rf"submitted with SLURM jobid (\d+) \(log: \S*/rule_{rule}/", output)


def test_slurm_run_equals_a_local_run(tmp_path, slurm):
    contents = {"chelsea": str(DATA / "content/chelsea.png")}
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    local.mkdir(), cluster.mkdir()
    snakemake(local, "--cores", "2", "--configfile", tiny_config(local, contents))
    done = snakemake(cluster, "--profile", cluster_profile(cluster), "--configfile", tiny_config(cluster, contents))

    # the transfer rule's GPU, memory and time requests arrive as sbatch flags (one job runs both triples)
    jobs = submitted(done.stdout + done.stderr, "transfer_pair")
    assert len(jobs) == 1
    for job in jobs:
        shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
        assert re.search(r"TresPerJob=gres(:|/)gpu(:|=)1", shown), shown
        assert "TimeLimit=00:10:00" in shown  # runtime from the rule
        assert re.search(r"MinMemoryNode=\d+M", shown)
        assert "Partition=main" in shown

    for result in sorted((local / "results").rglob("*.png")):
        twin = cluster / result.relative_to(local)
        if "plots" in result.parts:
            continue  # matplotlib plots carry the timings, which differ
        assert (Image.open(result).tobytes() == Image.open(twin).tobytes()), result.name
    a, b = pd.read_csv(local / "results/summary.csv"), pd.read_csv(cluster / "results/summary.csv")
    assert len(a) == 2 * 2
    columns = [c for c in a.columns if c != "seconds"]
    pd.testing.assert_frame_equal(a[columns], b[columns])


def test_a_failed_transfer_is_reported_and_a_rerun_makes_only_what_is_missing(tmp_path, slurm):
    contents = {"chelsea": str(DATA / "content/chelsea.png"), "coffee": str(DATA / "content/coffee.png")}
    config, profile = tiny_config(tmp_path, contents), cluster_profile(tmp_path)
    # inputs first, then break one preprocessed image so that its transfers fail on the cluster
    snakemake(tmp_path, "--cores", "2", "--configfile", config, "--until", "preprocess")
    broken = tmp_path / "results/inputs/contents/coffee.png"
    good = broken.read_bytes()
    broken.write_bytes(good[: len(good) // 3])
    done = snakemake(tmp_path, "--profile", profile, "--configfile", config, check=False)
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Error in rule transfer_pair" in said and "c_coffee_s_mosaic" in said
    finished = sorted((tmp_path / "results/runs").glob("c_chelsea_*/c_chelsea_*.png"))
    assert len(finished) == 2
    log = (tmp_path / "results/logs/transfer/c_coffee_s_mosaic.log").read_text()
    assert "coffee.png: cannot be decoded" in log
    assert not list((tmp_path / "results/runs").glob("c_coffee_*/c_coffee_*.png"))
    stamps = {p: p.stat().st_mtime_ns for p in finished}

    broken.write_bytes(good)  # the fix
    dry = snakemake(tmp_path, "-n", "--configfile", config).stdout
    counts = job_counts(dry)
    assert counts["transfer_pair"] == 1 and counts["gif_run"] == 2  # the coffee runs only
    snakemake(tmp_path, "--profile", profile, "--configfile", config)
    assert {p: p.stat().st_mtime_ns for p in finished} == stamps
    assert len(list((tmp_path / "results/runs").glob("*/c_*.png"))) == 4


LIMIT_MINUTES = 1  # Slurm's shortest limit; it checks limits every 30 s, so SIGTERM comes 60-90 s in
PAUSE_HOOK = ROOT / "tests" / "pause"  # its sitecustomize pauses the first job after its first checkpoint


def test_a_transfer_killed_at_its_time_limit_is_retried_and_resumes(tmp_path, slurm):
    """A one-minute time limit on a transfer that outlasts it: Slurm sends SIGTERM, the job stops with
    its checkpoint on disk, the profile's retries resubmit it, and the next attempt resumes. The first
    attempt pauses after its first checkpoint (tests/pause) until Slurm stops it, so the test holds
    whatever the CPU's speed, and waits rather than computes."""
    iterations = 6
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "contents": {"chelsea": str(DATA / "content/chelsea.png")},
        "styles": {"mosaic": str(DATA / "styles/mosaic.png")},
        "weights": [[0.025, 5, 1]],
        "size": 64,
        "nst": {"iterations": iterations, "evals_per_iteration": 3, "precision": "float32"},
    }))
    profile = cluster_profile(tmp_path)
    settings = yaml.safe_load((profile / "config.yaml").read_text())
    settings["set-resources"]["transfer_pair"]["runtime"] = LIMIT_MINUTES
    settings["retries"] = 2
    (profile / "config.yaml").write_text(yaml.safe_dump(settings))
    marker = tmp_path / "paused"
    hooked = {"NST_TEST_PAUSE": str(marker),  # sbatch passes the environment on to the job
              "PYTHONPATH": os.pathsep.join(p for p in (str(PAUSE_HOOK), os.environ.get("PYTHONPATH")) if p)}
    done = snakemake(tmp_path, "--profile", profile, "--configfile", config, timeout=1200, env=hooked)
    assert marker.exists(), "the first attempt never paused"
    attempts = submitted(done.stdout + done.stderr, "transfer_pair")
    assert len(attempts) >= 2, done.stdout[-3000:]
    run = "c_chelsea_s_mosaic_cw_0.025_sw_5_tvw_1"
    # Snakemake keeps a failed attempt's job output in its Slurm log, and gives each attempt a fresh rule log
    slurm_logs = "".join(p.read_text() for p in (tmp_path / ".snakemake/slurm_logs/rule_transfer_pair").rglob("*.log"))
    assert "CANCELLED" in slurm_logs and "DUE TO TIME LIMIT" in slurm_logs
    # nst's own line on SIGTERM races the step's end: Snakemake exits once the shell around the script
    # dies, and Slurm then kills what is left of the step, so on a loaded machine the line can be cut
    # (seen once in CI). Where it was written it names the checkpoint; the resume below is what counts.
    stopped = [line for line in slurm_logs.splitlines() if "stopped by SIGTERM" in line]
    assert all(f"results/checkpoints/{run} holds iteration 1 of {iterations}" in line for line in stopped), stopped
    assert f"resumed at iteration 1 of {iterations} from results/checkpoints/{run}" in (
        tmp_path / "results/logs/transfer/c_chelsea_s_mosaic.log").read_text()
    history = pd.read_csv(tmp_path / f"results/runs/{run}/history.csv")
    assert list(history["iteration"]) == list(range(iterations)) and history["evaluations"].is_monotonic_increasing
    assert len(list((tmp_path / f"results/runs/{run}/iterations").glob("*.png"))) == iterations
