# Transfers: one job per run (rule `transfer`), or (pair_jobs, the default) one job per content x
# style pair and mask set that makes all its runs in one process (rule `transfer_pair`). Both write
# the same files per run, so everything downstream is the same; nst.workflow.sweep.TransferRule
# gives the rule's shape.

TRANSFER = SWEEP.transfer_rule


rule transfer:
    """Gatys runs through the nst engine: one run, or every run of a content x style pair
    in one mask set.

    GPU-resourced: on a cluster `gpu=1` becomes `--gpus=1`; on a CPU-only machine jobs
    run side by side, each with as many TensorFlow threads as the rule's `threads`.
    """
    name:
        TRANSFER.name
    input:
        unpack(transfer_inputs),
    output:
        images=[
            report(
                naming.RUN_IMAGE.format(run=run),
                caption="../report/run.rst",
                **report_item("result", run),
            )
            for run in TRANSFER.runs
        ],
        frames=TRANSFER.outputs(N_FRAMES)["frames"],
        histories=TRANSFER.outputs(N_FRAMES)["histories"],
        records=TRANSFER.outputs(N_FRAMES)["records"],
    log:
        TRANSFER.log,
    benchmark:
        TRANSFER.benchmark
    wildcard_constraints:
        **TRANSFER.constraints,
    conda:
        "../../envs/nst.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=transfer_mem_mb,
        runtime=transfer_runtime,
    params:
        runs=job_runs,
        settings=SETTINGS.to_dict(),
    script:
        "../scripts/transfer.py"
