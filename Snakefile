# nst: neural style transfer at batch scale.
# Sweeps contents x styles x [cw, sw, tvw] triples through Gatys-style optimisation and
# assembles grids, GIFs, a CSV of losses and timings, loss plots and a report.
#
#   snakemake --cores 2                                   # the embedded default config
#   snakemake --cores 2 --configfile config/article.yaml --config mirror=../shared/article
#   snakemake --profile profiles/slurm                    # on a SLURM cluster
#   snakemake --report results/report.html                # after a run

from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/gallery.smk"
include: "workflow/rules/summary.smk"


rule all:
    default_target: True
    input:
        final_outputs,
