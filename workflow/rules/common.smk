"""The sweep of the config, and the input functions, params and resources the rules take from it.

Everything here is a one-line call of nst.workflow.sweep.Sweep, which builds the run tables, the
transfer rules' shapes, every rule's inputs and outputs and each job's requests from the config,
in tested Python (tests/test_sweep.py); this file only hands it Snakemake's wildcards.
"""

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

# The nst package of this repository, for this process and for every job's script (also
# inside conda environments). Found from this file, whichever Snakefile was the entry point.
PROJECT_ROOT = str(Path(str(workflow.current_basedir)).resolve().parents[1])
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (PROJECT_ROOT, os.getenv("PYTHONPATH", "")) if p
    )
)

from nst.workflow import naming
from nst.workflow.config_checks import ConfigProblem
from nst.workflow.sweep import Sweep, check

SCHEMA = Path(str(workflow.current_basedir)) / "../schemas/config.schema.yaml"
# What the user set in nst: (before the schema fills in the article's defaults), so that
# the keys set explicitly win over nst.preset and the others come from the preset.
NST_GIVEN = dict(config.get("nst") or {})

try:
    for notice in check(config, workflow.configfiles, SCHEMA):
        logger.warning(notice)
except ConfigProblem as exc:
    raise WorkflowError(str(exc)) from None
# passes now (check ran the schema); fills in the defaults
validate(config, schema="../schemas/config.schema.yaml")

try:
    SWEEP = Sweep(config, NST_GIVEN)
except ConfigProblem as exc:
    raise WorkflowError(str(exc)) from None
# the effective values, for the report and anything else that reads config["nst"]
config["nst"].update(SWEEP.effective_nst())
SETTINGS = SWEEP.settings
N_FRAMES = SWEEP.frame_count


wildcard_constraints:
    **SWEEP.wildcard_constraints(),


def given(wildcards):
    """A job's wildcards as a dict, as the sweep's methods take them."""
    return dict(wildcards.items())


# --- image sources -----------------------------------------------------------------


def image_source(wildcards):
    return SWEEP.image_source(wildcards.kind, wildcards.name)


def raw_image(wildcards):
    return SWEEP.raw_image(wildcards.kind, wildcards.name)


def fetch_url(wildcards):
    return SWEEP.fetch_url(wildcards.kind, wildcards.name)


def fetch_sha256(wildcards):
    return SWEEP.fetch_sha256(wildcards.kind, wildcards.name)


def preprocess_size(wildcards):
    return SWEEP.preprocess_size(wildcards.kind)


# --- transfers ---------------------------------------------------------------------


def transfer_inputs(wildcards):
    return SWEEP.transfer_inputs(given(wildcards))


def job_runs(wildcards):
    return SWEEP.job_runs(given(wildcards))


def transfer_mem_mb(wildcards, input, attempt):
    return SWEEP.transfer_mem_mb(given(wildcards), input.content, attempt)


def transfer_runtime(wildcards, input, threads, attempt):
    return SWEEP.transfer_runtime(given(wildcards), input.content, threads, attempt)


def report_entries(lookup):
    """report()'s category, subcategory and labels, each a function of the wildcards, from
    `lookup(wildcards)`, which gives all three."""

    def entry(key):
        def of(wildcards):
            return lookup(wildcards)[key]

        return of

    return {key: entry(key) for key in ("category", "subcategory", "labels")}


def report_item(shows, run="{run}"):
    """A run's report item (grouped by content, then style), `run` its pattern in the rule's wildcards."""

    def lookup(wildcards):
        return SWEEP.run_report(run.format(**given(wildcards)), shows)

    return report_entries(lookup)


# --- galleries and tables ----------------------------------------------------------


def run_frames(wildcards):
    return naming.frame_files(wildcards.run, N_FRAMES)


def variant_runs(wildcards):
    return SWEEP.records("variant", wildcards.variant)


def content_runs(wildcards):
    return SWEEP.records("content", wildcards.content)


def pair_runs(wildcards):
    return SWEEP.records("pair", wildcards.pair)


def single_run_record(wildcards):
    return SWEEP.records("run", wildcards.run)


def variant_inputs(wildcards):
    return SWEEP.variant_inputs(wildcards.variant)


def gallery_inputs(wildcards):
    return SWEEP.gallery_inputs(wildcards.content)


def pair_finals(wildcards):
    return SWEEP.finals(SWEEP.where("pair", wildcards.pair))


def frame_captions(wildcards):
    return SWEEP.frame_captions()


def sweep_captions(wildcards):
    return SWEEP.sweep_captions(wildcards.pair)


def all_histories(wildcards):
    return SWEEP.histories()


def all_records(wildcards):
    return SWEEP.run_records()


def final_outputs(wildcards=None):
    return SWEEP.final_outputs()


# --- videos ------------------------------------------------------------------------


def video_source(wildcards):
    return SWEEP.video_source(wildcards.video)


def video_transfer_inputs(wildcards):
    return SWEEP.video_transfer_inputs(wildcards.run)


def video_job(wildcards):
    return SWEEP.video_job(wildcards.run)


def video_info_of(wildcards):
    return SWEEP.video_info(wildcards.run)


def video_label(wildcards):
    return SWEEP.video_label(wildcards.run)


def video_report_item(shows):
    """A video run's report item."""

    def lookup(wildcards):
        return SWEEP.video_report(wildcards.run, shows)

    return report_entries(lookup)


def video_runtime(wildcards, input, threads, attempt):
    return SWEEP.video_runtime(wildcards.run, input.info, threads, attempt)


def video_mem_mb(wildcards, input, attempt):
    return SWEEP.video_mem_mb(wildcards.run, input.info, attempt)


def all_video_histories(wildcards):
    return SWEEP.video_histories()


def all_video_records(wildcards):
    return SWEEP.video_records()
