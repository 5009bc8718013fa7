# Transfers: one job per run, or (batch_triples, the default for a contents x styles x
# weights grid) one job per content x style pair that runs all its weight triples in one
# process. Both write the same files, so everything downstream is the same.

if BATCHED:

    rule transfer_pair:
        """All weight triples of one content x style pair, one after another, one model.

        GPU-resourced: on a cluster `gpu=1` becomes `--gpus=1`; on a CPU-only machine jobs
        run side by side, each with as many TensorFlow threads as the rule's `threads`.
        """
        input:
            unpack(pair_inputs),
        output:
            images=[
                report(
                    f"results/runs/c_{{content}}_s_{{style}}_{t}/c_{{content}}_s_{{style}}_{t}.png",
                    caption="../report/run.rst",
                    category="Runs",
                    labels=triple_labels(t),
                )
                for t in TRIPLES
            ],
            frames=[
                f"results/runs/c_{{content}}_s_{{style}}_{t}/iterations/c_{{content}}_s_{{style}}_{t}_i_{k}.png"
                for t in TRIPLES
                for k in range(N_FRAMES)
            ],
            histories=expand(
                "results/runs/c_{{content}}_s_{{style}}_{t}/history.csv", t=TRIPLES
            ),
            records=expand(
                "results/runs/c_{{content}}_s_{{style}}_{t}/run.json", t=TRIPLES
            ),
        log:
            "results/logs/transfer/c_{content}_s_{style}.log",
        benchmark:
            "results/benchmarks/transfer/c_{content}_s_{style}.tsv"
        conda:
            "../../envs/nst.yaml"
        threads: 2
        resources:
            gpu=1,
            mem_mb=transfer_mem_mb,
            runtime=transfer_runtime,
        params:
            runs=pair_run_outputs,
            nst=NST,
            size=SIZE,
            seed=config["seed"],
        script:
            "../scripts/transfer.py"

else:

    rule transfer:
        """One Gatys run (content x style x weight triple) through the nst engine.

        GPU-resourced: on a cluster `gpu=1` becomes `--gpus=1`; on a CPU-only machine jobs
        run side by side, each with as many TensorFlow threads as the rule's `threads`.
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
            runs=single_run,
            nst=NST,
            size=SIZE,
            seed=config["seed"],
        script:
            "../scripts/transfer.py"
