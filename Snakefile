# nst: neural style transfer at batch scale (see README.md).
# The workflow itself is workflow/Snakefile, where the Snakemake workflow catalog and
# snakedeploy look for it; this file runs it as a module, so `snakemake` from the
# repository root and `snakemake -s workflow/Snakefile` are the same workflow.


configfile: "config/config.yaml"


module nst:
    snakefile:
        "workflow/Snakefile"
    config:
        config


use rule * from nst
