"""The float32 L-BFGS (nst/lbfgs32.py) against scipy's L-BFGS-B on the real objective.

    python benchmarks/lbfgs32.py [--size 256] [--precision float32]

For the article's pair (hugo x wave, or data/'s photo and style without the article's
images), both optimisers run the same settings from the same start in one process each:
the fast preset's one long bounded run, and the article's restarted L-BFGS (10 x 20, noise).
Printed per setting: the optimiser's loss after each iteration's evaluations (from the run
record's history), the saved PNG's loss (`nst loss`, float32), the evaluations made, the
seconds per evaluation, and the final ratio lbfgs32 / scipy (the goal: at most 1.02).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT.parent / "shared" / "article"


def pair() -> tuple[Path, Path]:
    if (ARTICLE / "hugo.jpg").exists():
        return ARTICLE / "hugo.jpg", ARTICLE / "wave.jpg"
    return ROOT / "data" / "content" / "chelsea.png", ROOT / "data" / "styles" / "wave_stripes.png"


def run(optimizer: str, preset: str, size: int, precision: str, folder: Path, extra: list[str]) -> dict:
    content, style = pair()
    out = folder / f"{preset}_{optimizer}.png"
    record = folder / f"{preset}_{optimizer}.json"
    history = folder / f"{preset}_{optimizer}.csv"
    subprocess.run([sys.executable, "-m", "nst", "transfer", str(content), str(style), "-o", str(out), "--quiet",
                    "--preset", preset, "--size", str(size), "--seed", "0", "--precision", precision,
                    "--optimizer", optimizer, "--record", str(record), "--history", str(history), *extra],
                   check=True)
    scored = subprocess.run([sys.executable, "-m", "nst", "loss", str(content), str(style), str(out),
                             "--size", str(size)], check=True, capture_output=True, text=True)
    run_record = json.loads(record.read_text())
    rows = [line.split(",") for line in history.read_text().splitlines()]
    column = rows[0].index("total_loss")
    return {"losses": [float(r[column]) for r in rows[1:]], "saved": json.loads(scored.stdout.splitlines()[0])["total"],
            "evaluations": run_record["evaluations"], "seconds": run_record["seconds"]["optimise"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--presets", default="fast,article", help="comma-separated: fast, article")
    args = parser.parse_args()
    print(f"{pair()[0].name} x {pair()[1].name}, {args.size} px, {args.precision}")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            found = {opt: run(opt, preset, args.size, args.precision, Path(tmp), []) for opt in ("lbfgs", "lbfgs32")}
            for opt, r in found.items():
                print(f"  {preset:8s} {opt:8s} loss by iteration " + " ".join(f"{v:.4g}" for v in r["losses"]))
                print(f"  {preset:8s} {opt:8s} final {r['losses'][-1]:.5g}, saved PNG {r['saved']:.5g}, "
                      f"{r['evaluations']} evaluations, {r['seconds'] / r['evaluations']:.3f} s each")
            print(f"  {preset:8s} lbfgs32 / scipy: final {found['lbfgs32']['losses'][-1] / found['lbfgs']['losses'][-1]:.4f}, "
                  f"saved PNG {found['lbfgs32']['saved'] / found['lbfgs']['saved']:.4f}")


if __name__ == "__main__":
    main()
