rule summary:
    """One row per run x iteration (per frame for a video run): weights, losses, evaluations, seconds, backbone, precision."""
    input:
        histories=all_histories,
        records=all_records,
        video_histories=all_video_histories,
        video_records=all_video_records,
    output:
        report(
            naming.SUMMARY,
            caption="../report/summary.rst",
            category="Tables",
        ),
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/nst.yaml"
    params:
        runs=SWEEP.runs.to_dict("records"),
        video_runs=SWEEP.video_runs.to_dict("records"),
    script:
        "../scripts/summary.py"


rule plot_pair:
    """Loss curves of one content x style pair, one line per run's weights."""
    input:
        naming.SUMMARY,
    output:
        report(
            naming.PLOT_PAIR,
            caption="../report/plot_pair.rst",
            category="Loss curves",
            subcategory="weight sweeps",
            labels={"pair": "{pair}"},
        ),
    log:
        "results/logs/plots/pairs/{pair}.log",
    conda:
        "../../envs/nst.yaml"
    params:
        runs=pair_runs,
        title="{pair}",
    script:
        "../scripts/plots.py"


rule plot_run:
    """Total, content, style and total-variation loss of one run, iteration by iteration."""
    input:
        naming.SUMMARY,
    output:
        report(
            naming.PLOT_RUN,
            caption="../report/plot_run.rst",
            **report_item("loss curve"),
        ),
    log:
        "results/logs/plots/runs/{run}.log",
    conda:
        "../../envs/nst.yaml"
    params:
        runs=single_run_record,
        title="{run}",
    script:
        "../scripts/plots.py"


rule plot_sweep:
    """Total loss against time for every run of the sweep."""
    input:
        naming.SUMMARY,
    output:
        report(
            naming.PLOT_SWEEP,
            caption="../report/plot_sweep.rst",
            category="Loss curves",
            labels={"pair": "all runs"},
        ),
    log:
        "results/logs/plots/sweep.log",
    conda:
        "../../envs/nst.yaml"
    params:
        runs=[],
        title="every run of the sweep",
    script:
        "../scripts/plots.py"
