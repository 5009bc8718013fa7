rule fetch:
    """Download a URL image (or copy it from config['mirror']) and verify its sha256."""
    output:
        naming.DOWNLOAD,
    log:
        "results/logs/fetch/{kind}/{name}.log",
    conda:
        "../../envs/nst.yaml"
    params:
        url=fetch_url,
        sha256=fetch_sha256,
        mirror=config["mirror"],
    script:
        "../scripts/fetch.py"


rule preprocess:
    """Orient, convert to RGB and resize one input image; a bad image stops here, named."""
    input:
        raw_image,
    output:
        naming.INPUT,
    log:
        "results/logs/preprocess/{kind}/{name}.log",
    conda:
        "../../envs/nst.yaml"
    params:
        size=preprocess_size,
        source=image_source,
    script:
        "../scripts/preprocess.py"
