rule gallery:
    """One picture per content image: the photo, then every result with its style as an inset."""
    input:
        unpack(gallery_inputs),
    output:
        report(
            naming.GALLERY,
            caption="../report/gallery.rst",
            category="Galleries",
            labels={"content": "{content}"},
        ),
    log:
        "results/logs/gallery/{content}.log",
    benchmark:
        "results/benchmarks/gallery/{content}.tsv"
    conda:
        "../../envs/nst.yaml"
    params:
        runs=content_runs,
        cell=config["grid_cell"],
    script:
        "../scripts/gallery.py"


rule grid_by_weights:
    """Contents (rows) x styles (columns) that ran with the same weights, the inputs as headers."""
    input:
        unpack(variant_inputs),
    output:
        report(
            naming.GRID_BY_WEIGHTS,
            caption="../report/grid_by_weights.rst",
            category="Galleries",
            subcategory="contents x styles",
            labels={"weights": "{variant}"},
        ),
    log:
        "results/logs/grid/by_weights/{variant}.log",
    benchmark:
        "results/benchmarks/grid/by_weights/{variant}.tsv"
    conda:
        "../../envs/nst.yaml"
    params:
        runs=variant_runs,
        layout="by_weights",
        cell=config["grid_cell"],
    script:
        "../scripts/grid.py"


rule grid_by_pair:
    """The runs of one content x style pair under each of its weights, side by side."""
    input:
        pair_finals,
    output:
        report(
            naming.GRID_BY_PAIR,
            caption="../report/grid_by_pair.rst",
            category="Galleries",
            subcategory="weight sweeps",
            labels={"pair": "{pair}"},
        ),
    log:
        "results/logs/grid/by_pair/{pair}.log",
    benchmark:
        "results/benchmarks/grid/by_pair/{pair}.tsv"
    conda:
        "../../envs/nst.yaml"
    params:
        runs=pair_runs,
        layout="by_pair",
        cell=config["grid_cell"],
    script:
        "../scripts/grid.py"


rule gif_run:
    """The iterations of one run, as the article's walk-through GIF."""
    input:
        run_frames,
    output:
        report(
            naming.GIF_RUN,
            caption="../report/gif_run.rst",
            **report_item("iterations"),
        ),
    log:
        "results/logs/gif/runs/{run}.log",
    benchmark:
        "results/benchmarks/gif/runs/{run}.tsv"
    conda:
        "../../envs/nst.yaml"
    params:
        captions=frame_captions,
        seconds=config["gif_frame_seconds"],
        size=config["gif_size"],
    script:
        "../scripts/gif.py"


rule gif_sweep:
    """The results of one pair across its weights, as the article's hyper-parameter GIF."""
    input:
        pair_finals,
    output:
        report(
            naming.GIF_SWEEP,
            caption="../report/gif_sweep.rst",
            category="Galleries",
            subcategory="weight sweeps",
            labels={"pair": "{pair}"},
        ),
    log:
        "results/logs/gif/sweeps/{pair}.log",
    benchmark:
        "results/benchmarks/gif/sweeps/{pair}.tsv"
    conda:
        "../../envs/nst.yaml"
    params:
        captions=sweep_captions,
        seconds=config["gif_frame_seconds"] * 2,
        size=config["gif_size"],
    script:
        "../scripts/gif.py"
