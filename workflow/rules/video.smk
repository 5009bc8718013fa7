# Videos: each clip's frames at the result's size and the motion between them (once per clip,
# shared by its runs), then one frame chain per clip x style x weights, encoded with the clip's
# sound and previewed as a small GIF for the report.


rule video_frames:
    """Decode a clip (a video file or a folder of numbered images), take its range and stride, and
    write its frames at the result's size, and <clip>.json (frame rate, count, size, the span for the sound).
    """
    input:
        video_source,
    output:
        frames=directory(naming.VIDEO_FRAMES),
        info=naming.VIDEO_INFO,
    log:
        "results/logs/video_frames/{video}.log",
    conda:
        "../../envs/nst.yaml"
    params:
        size=config["size"],
        video=config["video"],
    script:
        "../scripts/video_frames.py"


rule video_motion:
    """Optical flow both ways and reliability weights of every neighbouring frame pair of a clip,
    the pairs in parallel over the rule's threads, before any frame is stylised."""
    input:
        frames=naming.VIDEO_FRAMES,
        info=naming.VIDEO_INFO,
    output:
        directory(naming.VIDEO_MOTION),
    log:
        "results/logs/video_motion/{video}.log",
    benchmark:
        "results/benchmarks/video_motion/{video}.tsv"
    conda:
        "../../envs/nst.yaml"
    threads: 2
    script:
        "../scripts/video_motion.py"


rule video_transfer:
    """The frame chain of one clip x style x weights through the nst engine (nst.video.chain),
    resumable at the frame it was on from results/checkpoints/videos/<run>/; GPU-resourced like
    the transfers."""
    input:
        unpack(video_transfer_inputs),
    output:
        frames=directory(naming.VIDEO_STYLED),
        history=naming.VIDEO_HISTORY,
        record=naming.VIDEO_RECORD,
    log:
        "results/logs/video_transfer/{run}.log",
    benchmark:
        "results/benchmarks/video_transfer/{run}.tsv"
    conda:
        "../../envs/nst.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=video_mem_mb,
        runtime=video_runtime,
    params:
        job=video_job,
        settings=SETTINGS.to_dict(),
        video=config["video"],
    script:
        "../scripts/video_transfer.py"


rule video_encode:
    """The stylised frames as an MP4 at the clip's frame rate, with the clip's sound."""
    input:
        frames=naming.VIDEO_STYLED,
        info=video_info_of,
    output:
        report(
            naming.VIDEO_CLIP,
            caption="../report/video.rst",
            **video_report_item("video"),
        ),
    log:
        "results/logs/video_encode/{run}.log",
    conda:
        "../../envs/nst.yaml"
    script:
        "../scripts/video_encode.py"


rule video_preview:
    """A small labelled GIF of the first frames, for the report and the README."""
    input:
        frames=naming.VIDEO_STYLED,
        info=video_info_of,
    output:
        report(
            naming.VIDEO_PREVIEW,
            caption="../report/video.rst",
            **video_report_item("preview"),
        ),
    log:
        "results/logs/video_preview/{run}.log",
    conda:
        "../../envs/nst.yaml"
    params:
        label=video_label,
        frames=config["video"]["preview_frames"],
        size=config["gif_size"],
    script:
        "../scripts/video_preview.py"
