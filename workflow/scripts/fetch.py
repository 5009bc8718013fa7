"""Fetch one URL image (or its mirror copy), verifying its sha256."""

from nst.workflow.fetch import fetch
from nst.workflow.script import run


def main(snakemake):
    fetch(snakemake.params.url, snakemake.params.sha256, snakemake.output[0], mirror=snakemake.params.mirror or None)


run(snakemake, main)  # noqa: F821 (the object Snakemake provides)
