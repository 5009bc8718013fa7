# nst: neural style transfer at batch scale (see README.md).
# The workflow itself is workflow/Snakefile, where the Snakemake workflow catalog and
# snakedeploy look for it; this file runs it as a module, so `snakemake` from the
# repository root and `snakemake -s workflow/Snakefile` are the same workflow.


# The embedded default, unless a configuration is given: `--configfile my.yaml` replaces it
# (Snakemake would otherwise merge the two, adding the default's images to yours), while
# `--config key=value` alone adjusts it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


module nst:
    snakefile:
        "workflow/Snakefile"
    config:
        config


use rule * from nst
