rule summary:
    """One row per run x iteration: weights, losses, evaluations, seconds, backbone, precision, size."""
    input:
        histories=all_histories,
        records=all_records,
    output:
        report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/nst.yaml"
    params:
        runs=RUNS.to_dict("records"),
    script:
        "../scripts/summary.py"


rule plot_pair:
    """Loss curves of one content x style pair, one line per weight triple."""
    input:
        "results/summary.csv",
    output:
        report(
            "results/plots/pairs/{pair}.png",
            caption="../report/plot_pair.rst",
            category="Loss curves",
            labels={"pair": "{pair}"},
        ),
    log:
        "results/logs/plots/pairs/{pair}.log",
    conda:
        "../../envs/nst.yaml"
    params:
        pair="{pair}",
    script:
        "../scripts/plots.py"


rule plot_sweep:
    """Total loss against time for every run of the sweep."""
    input:
        "results/summary.csv",
    output:
        report(
            "results/plots/sweep.png",
            caption="../report/plot_sweep.rst",
            category="Loss curves",
            labels={"pair": "all runs"},
        ),
    log:
        "results/logs/plots/sweep.log",
    conda:
        "../../envs/nst.yaml"
    params:
        pair="",
    script:
        "../scripts/plots.py"
