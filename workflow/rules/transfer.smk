# Transfers: one job per run, or (batch_triples, the default for a contents x styles x
# weights grid) one job per content x style pair that runs all its weights in one
# process. Both write the same files, so everything downstream is the same; the pair rule
# is the run rule with other outputs.


rule transfer:
    """Gatys runs through the nst engine: one run, or every run of a content x style pair.

    GPU-resourced: on a cluster `gpu=1` becomes `--gpus=1`; on a CPU-only machine jobs
    run side by side, each with as many TensorFlow threads as the rule's `threads`.
    """
    input:
        unpack(transfer_inputs),
    output:
        image=report(
            naming.RUN_IMAGE, caption="../report/run.rst", **report_item("result")
        ),
        frames=naming.frame_files("{run}", N_FRAMES),
        history=naming.RUN_HISTORY,
        record=naming.RUN_RECORD,
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
        runs=job_runs,
        settings=SETTINGS.to_dict(),
    script:
        "../scripts/transfer.py"


if BATCHED:

    use rule transfer as transfer_pair with:
        output:
            images=[
                report(
                    naming.RUN_IMAGE.format(run=pair_run(v)),
                    caption="../report/run.rst",
                    **report_item("result", v),
                )
                for v in VARIANTS
            ],
            frames=[
                f for v in VARIANTS for f in naming.frame_files(pair_run(v), N_FRAMES)
            ],
            histories=[naming.RUN_HISTORY.format(run=pair_run(v)) for v in VARIANTS],
            records=[naming.RUN_RECORD.format(run=pair_run(v)) for v in VARIANTS],
        log:
            f"results/logs/transfer/{PAIR_PATTERN}.log",
        benchmark:
            f"results/benchmarks/transfer/{PAIR_PATTERN}.tsv"

    ruleorder: transfer_pair > transfer
