rule transfer:
    """One Gatys run (content x style x weight triple) through the nst engine.

    GPU-resourced: on a cluster `gpu=1` becomes `--gpus=1`; on a CPU-only machine jobs run
    side by side, each with as many TensorFlow threads as the rule's `threads`.
    """
    input:
        unpack(transfer_inputs),
    output:
        image=report(
            "results/runs/{run}/{run}.png",
            caption="../report/run.rst",
            category="Runs",
            labels=run_labels,
        ),
        frames=expand(
            "results/runs/{{run}}/iterations/{{run}}_i_{k}.png", k=range(N_FRAMES)
        ),
        history="results/runs/{run}/history.csv",
        record="results/runs/{run}/run.json",
    log:
        "results/logs/transfer/{run}.log",
    benchmark:
        "results/benchmarks/transfer/{run}.tsv"
    conda:
        "../../envs/nst.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=transfer_mem_mb,
        runtime=transfer_runtime,
    params:
        row=run_row,
        nst=NST,
        size=SIZE,
        seed=config["seed"],
    script:
        "../scripts/transfer.py"
