"""A workflow's sweep as one tested object: its runs, its transfer jobs, what every rule reads and writes, and
what each job asks a scheduler for.

`Sweep(config)` is built by common.smk once Snakemake has read the config; the rules' input
functions, params and resources are one-line calls of its methods, so everything about which runs
exist, which job makes which files and what it needs lives here, in plain Python that the tests
build from any config (tests/test_sweep.py, every combination of the sweep's axes).

The axes: contents and videos (clips) x styles x weights entries (by loss-term name, a plugin's
terms included) x colour modes x mask sets (each for the contents it lists), or a run sheet's
rows in place of the images' cross product. Transfer jobs either make one run each (rule
`transfer`) or every run of a content x style pair in one process (`pair_jobs`, the default).
A rule's outputs are fixed patterns, so pairs that make different runs (a mask set lists some
contents only, a run sheet gives pairs different rows) get a pair rule each per set of runs they
share (`transfer_pair`, or `transfer_pair_1`, `transfer_pair_2`, … where the sets differ).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import estimate
from ..errors import NSTError, SettingsError
from ..settings import TransferSettings
from ..backbones import check_layers
from ..terms import build_terms, known_terms, layers_by_term, unknown_term
from ..video.settings import LATER_SHARE, TEMPORAL_WEIGHT, VideoSettings
from ..network_weights import which_backbone
from . import mask_sets, naming, runs
from .config_checks import ConfigProblem, check_config, check_files, check_schema

log = logging.getLogger("nst")

RUN, PAIR, MASKED = "run", "pair", "masked"  # the transfer rules' wildcards
# Config keys renamed since: the old name is still read, with a notice.
RENAMED = {"batch_triples": "pair_jobs"}


def alternatives(names) -> str:
    """A regular expression matching exactly one of `names` (the longest first; the empty name too)."""
    return "(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + ")"


def image_shape(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image, from its header."""
    from PIL import Image

    with Image.open(path) as image:
        return image.height, image.width


def renamed_keys(config: dict) -> list[str]:
    """Move keys given by an old name to their new one, in place; a notice for each."""
    notices = []
    for old, new in RENAMED.items():
        if old in config:
            value = config.pop(old)
            if new in config:
                raise ConfigProblem(f"config: {old!r} is the old name of {new!r}; give only {new!r}")
            config[new] = value
            notices.append(f"notice: config key {old!r} is now called {new!r}; read as {new}: {value}")
    return notices


def check(config: dict, configfiles, schema_path) -> list[str]:
    """The config's first problem in one line (ConfigProblem): what the schema misses, then the schema's
    own checks worded as one line naming the key; notices to show."""
    check_files(configfiles)
    notices = renamed_keys(config)
    runs.check_entries(config.get("weights"))
    mask_sets.check(config.get("mask_sets"), config.get("contents") or {}, config.get("styles") or {})
    if not (config.get("contents") or config.get("videos")):
        raise ConfigProblem("config: give contents (images), videos (clips) or both")
    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    check_config(config, list(schema["properties"]))
    check_schema(config, schema, Path(schema_path).parent)
    return notices


@dataclass(frozen=True)
class TransferRule:
    """The transfer rule: `transfer`, one run a job (wildcard `run`), or `transfer_pair`, every run of a
    content x style pair in one mask set a job (wildcards `pair` and `masked`, the run names' mask-set
    suffix, empty when unmasked), each job making the same variants (weights x colour modes)."""

    name: str
    variants: tuple[str, ...] = ()  # of a pair job: its runs' names after the pair, before the mask set's part
    pairs: tuple[str, ...] = ()
    masked: tuple[str, ...] = ()  # the mask-set suffixes ("" for the unmasked runs)

    @property
    def wildcards(self) -> tuple[str, ...]:
        return (PAIR, MASKED) if self.variants else (RUN,)

    @property
    def runs(self) -> list[str]:
        """The run patterns one job writes (in the rule's wildcards)."""
        if not self.variants:
            return ["{run}"]
        return [naming.run_name("{pair}", v) + "{masked}" for v in self.variants]

    def outputs(self, frame_count: int) -> dict[str, list[str]]:
        """Every file a job writes, by kind (the rule adds the images' report entries)."""
        return {
            "images": [naming.RUN_IMAGE.format(run=r) for r in self.runs],
            "frames": [f for r in self.runs for f in naming.frame_files(r, frame_count)],
            "histories": [naming.RUN_HISTORY.format(run=r) for r in self.runs],
            "records": [naming.RUN_RECORD.format(run=r) for r in self.runs],
        }

    @property
    def job(self) -> str:
        """A job's name in its log and benchmark files."""
        return "{pair}{masked}" if self.variants else "{run}"

    @property
    def log(self) -> str:
        return f"results/logs/transfer/{self.job}.log"

    @property
    def benchmark(self) -> str:
        return f"results/benchmarks/transfer/{self.job}.tsv"

    @property
    def constraints(self) -> dict[str, str]:
        if not self.variants:
            return {}
        return {PAIR: alternatives(self.pairs), MASKED: alternatives(self.masked)}


class Sweep:
    """The runs of one config and everything the rules ask of them."""

    def __init__(self, config: dict, nst_given: dict | None = None):
        """`config`: validated (its defaults filled in); `nst_given`: the `nst:` block as the user wrote
        it, before the schema's defaults, so the keys set explicitly win over nst.preset."""
        self.config = config
        try:
            self.settings = TransferSettings.from_mapping(
                dict(config.get("nst") or {} if nst_given is None else nst_given),
                size=config["size"], seed=config["seed"]).validate()
            self.video = VideoSettings.from_mapping(config.get("video") or {}).validate()
            self.known_terms = known_terms(self.settings.plugins)
        except SettingsError as exc:
            block = "video" if exc.option in VideoSettings.__dataclass_fields__ else "nst"
            raise ConfigProblem(f"config key {block}.{exc.option}: {exc.problem}") from None
        for name in self.settings.terms:
            if name not in self.known_terms:
                raise ConfigProblem(f"config key nst.terms: {unknown_term(name)}")
        try:
            self.backbone = which_backbone(self.settings.backbone, self.settings.weights)
        except NSTError as exc:
            raise ConfigProblem(f"config key nst.weights: {exc}") from None
        try:  # as the engine will in every job, now: the network is known at parse time
            check_layers(self.backbone, layers_by_term(build_terms(self.settings)))
        except SettingsError as exc:
            raise ConfigProblem(f"config key nst.{exc.option}: {exc.problem}") from None
        self.frame_count = self.settings.frame_count()
        self.runs = self._run_table(videos=False)
        self.video_runs = self._run_table(videos=True)
        self.pair_jobs = bool(config.get("pair_jobs", True))
        self.transfer_rule = self._transfer_rule()

    # --- the run tables ----------------------------------------------------------------------

    def _run_table(self, videos: bool):
        """The images' runs, or (`videos`) the clips': every run's weights by term name (a clip's with
        the temporal term, TEMPORAL_WEIGHT unless a weights entry or nst.terms gives it; an image's
        without it) and its axes, each variant checked by the engine's own rules."""
        defaults = self.settings.loss_weights()
        sources = self.config.get("videos" if videos else "contents") or {}
        if not sources:
            return runs.build_runs([], [], [], defaults)
        table = runs.build_runs(
            list(sources),
            list(self.config["styles"]),
            self.config["weights"],
            {**defaults, "temporal": defaults.get("temporal", TEMPORAL_WEIGHT)} if videos else defaults,
            "" if videos else self.config.get("runs", ""),
            {"color_transfer": self.config.get("color_transfers") or [self.settings.color_transfer]},
            None if videos else self.config.get("mask_sets"),
            ignore=() if videos else ("temporal",),
            known=self.known_terms,
        )
        for _, same in table.groupby("variant", sort=False):
            row = same.iloc[0]
            try:
                self.run_settings(row).validate()
            except SettingsError as exc:
                raise ConfigProblem(f"weights {runs.run_label(row)} (run {same.index[0]}): {exc}") from None
        return table

    def run_settings(self, row) -> TransferSettings:
        """The settings of one run of a table: the nst block, its axes' values, its weights."""
        return runs.run_settings(self.settings.to_dict(), runs.run_loss_weights(row), runs.run_options(row))

    def effective_nst(self) -> dict:
        """The nst block's values as the runs use them (the preset's where the config leaves a key out)."""
        values = self.settings.to_dict()
        return {k: values[k] for k in self.config.get("nst") or {} if k in values}

    def where(self, column: str, value):
        return self.runs[self.runs[column] == value]

    @staticmethod
    def _unique(values) -> list:
        return list(dict.fromkeys(values))

    @property
    def contents(self) -> list[str]:
        return self._unique(self.runs["content"])

    @property
    def styles(self) -> list[str]:
        return self._unique(self.runs["style"])

    @property
    def variants(self) -> list[str]:
        return self._unique(self.runs["variant"])

    @property
    def pairs(self) -> list[str]:
        return self._unique(self.runs["pair"])

    def wildcard_constraints(self) -> dict[str, str]:
        """Each wildcard's values, so no pattern matches a path it should not."""
        config = self.config
        return {
            "kind": "contents|styles|videos",
            "name": alternatives(list(config.get("contents") or {}) + list(config["styles"])
                                 + list(config.get("videos") or {})),
            RUN: alternatives(list(self.runs.index) + list(self.video_runs.index)),
            "video": alternatives(config.get("videos") or {}),
            "content": alternatives(self.contents),
            "style": alternatives(self.styles),
            "variant": alternatives(self.variants),
            PAIR: alternatives(self.pairs),
        }

    # --- image sources -----------------------------------------------------------------------

    def source(self, kind: str, name: str):
        return self.config[kind][name]

    def image_source(self, kind: str, name: str) -> str:
        """A local image's own path, or where the fetch rule puts a URL's file."""
        if isinstance(self.source(kind, name), dict):
            return naming.DOWNLOAD.format(kind=kind, name=name)
        return self.source(kind, name)

    def raw_image(self, kind: str, name: str) -> list[str] | str:
        """The preprocess job's input: its source, or nothing when a local file is missing, so that only
        this image's job fails (naming the file) and the other runs go on."""
        path = self.image_source(kind, name)
        return path if isinstance(self.source(kind, name), dict) or Path(path).exists() else []

    def fetch_url(self, kind: str, name: str) -> str:
        return self.source(kind, name)["url"]

    def fetch_sha256(self, kind: str, name: str) -> str:
        return self.source(kind, name)["sha256"]

    def preprocess_size(self, kind: str) -> int:
        """Contents at the result's size; styles at the size the engine resizes them to."""
        size = self.config["size"]
        return self.settings.style_size(size) if kind == "styles" else size

    @staticmethod
    def input_image(kind: str, name: str) -> str:
        return naming.INPUT.format(kind=kind, name=name)

    # --- transfers ---------------------------------------------------------------------------

    def _transfer_rule(self) -> TransferRule:
        """One run a job, or one pair in one mask set a job. A rule's outputs are fixed patterns, so a pair
        job makes the variants every pair runs (weights x colour modes); the mask sets, which list only
        some contents, are the jobs' `masked` wildcard. A run sheet's pairs run what their rows say,
        which may differ from pair to pair: one run a job."""
        if not self.pair_jobs or self.config.get("runs") or self.runs.empty:
            return TransferRule("transfer")
        table = self.runs.assign(masked=[self._masked(v) for v in self.runs["mask_set"]])
        variants = self._unique(v[: len(v) - len(m)] for v, m in zip(table["variant"], table["masked"]))
        return TransferRule("transfer_pair", tuple(variants), tuple(self.pairs), tuple(self._unique(table["masked"])))

    @staticmethod
    def _masked(mask_set: str) -> str:
        """A mask set's part of run names (`_mask_face`; empty for the unmasked runs): their last part,
        the mask set being the last of naming.AXES."""
        return naming.axes_suffix({"mask_set": mask_set})

    def job_rows(self, wildcards: dict):
        """The run-table rows one transfer job makes: its run's, or its pair's in its mask set."""
        if RUN in wildcards:
            return self.runs.loc[[wildcards[RUN]]]
        same = self.where("pair", wildcards[PAIR])
        return same[[self._masked(m) == wildcards[MASKED] for m in same["mask_set"]]]

    def regions(self, row) -> mask_sets.Regions:
        """A run's mask-set regions (none when unmasked)."""
        return mask_sets.regions(self.config.get("mask_sets") or {}, row["mask_set"], row["content"])

    def run_job(self, run: str) -> dict:
        """What the transfer script needs of one run: its weights by term name, its values on the sweep's
        other axes (nst options), its masks and further styles, and where it writes."""
        row = self.runs.loc[run]
        regions = self.regions(row)
        return {
            "loss_weights": runs.run_loss_weights(row),
            "options": runs.run_options(row),
            "masks": regions.masks,
            "further_styles": [self.input_image("styles", s) for s in regions.further_styles],
            **naming.run_files(run),
        }

    def job_runs(self, wildcards: dict) -> list[dict]:
        return [self.run_job(run) for run in self.job_rows(wildcards).index]

    def transfer_inputs(self, wildcards: dict) -> dict:
        """A job's preprocessed content and style, and the masks and further styles of its masked runs."""
        rows = self.job_rows(wildcards)
        regions = [self.regions(row) for _, row in rows.iterrows()]
        further = self._unique(s for r in regions for s in r.further_styles)
        return {
            "content": self.input_image("contents", rows.iloc[0]["content"]),
            "style": self.input_image("styles", rows.iloc[0]["style"]),
            "masks": self._unique(m for r in regions for m in r.masks),
            "further_styles": [self.input_image("styles", s) for s in further],
        }

    def transfer_request_bytes(self, wildcards: dict, content: str | Path, attempt: int = 1) -> int:
        """Memory for one transfer job: the engine's plan of the largest stage of its most demanding run (its
        terms, the layers they read) for this job's content (its backbone, its aspect ratio), untiled where
        that stays under estimate.REQUEST_CAP and tiled within it beyond, plus margin, more on each retry.
        The job plans within what it gets (SLURM_MEM_PER_NODE), so it stays inside its allocation."""
        shape = image_shape(content)
        need = max(estimate.request_bytes(self.run_settings(row), self.backbone, *shape)
                   for _, row in self.job_rows(wildcards).iterrows())
        return int(attempt * 1.25 * need)

    def transfer_mem_mb(self, wildcards: dict, content: str | Path, attempt: int = 1) -> int:
        return self.transfer_request_bytes(wildcards, content, attempt) // 2**20

    def transfer_runtime(self, wildcards: dict, content: str | Path, threads: int, attempt: int = 1) -> int:
        """Minutes: the engine's estimate for every run of the job, tiled stages at their cost within the
        job's memory, x3 headroom, more on each retry."""
        shape, limit = image_shape(content), self.transfer_request_bytes(wildcards, content, attempt)
        seconds = sum(estimate.run_seconds(self.run_settings(row), self.backbone, *shape, threads, limit=limit)
                      for _, row in self.job_rows(wildcards).iterrows())
        return int(10 + 3 * attempt * seconds / 60)

    # --- the report: every run's items grouped by content (category) and style (subcategory) ---

    def run_report(self, run: str, shows: str) -> dict:
        row = self.runs.loc[run]
        return {"category": row["content"], "subcategory": row["style"],
                "labels": {"weights": runs.run_label(row), "shows": shows}}

    # --- galleries and tables ----------------------------------------------------------------

    @staticmethod
    def finals(table) -> list[str]:
        return [naming.RUN_IMAGE.format(run=r) for r in table.index]

    def records(self, column: str, value) -> list[dict]:
        return self.where(column, value).to_dict("records")

    def variant_inputs(self, variant: str) -> dict:
        """A contents x styles grid's results, and the inputs its headers show."""
        same = self.where("variant", variant)
        return {
            "finals": self.finals(same),
            "contents": [self.input_image("contents", c) for c in self._unique(same["content"])],
            "styles": [self.input_image("styles", s) for s in self._unique(same["style"])],
        }

    def gallery_inputs(self, content: str) -> dict:
        """One content image's gallery: the photo, its results, and their styles."""
        same = self.where("content", content)
        return {
            "content": self.input_image("contents", content),
            "finals": self.finals(same),
            "styles": [self.input_image("styles", s) for s in same["style"]],
        }

    def frame_captions(self) -> list[str]:
        return [f"iteration {k + 1} of {self.frame_count}" for k in range(self.frame_count)]

    def sweep_captions(self, pair: str) -> list[str]:
        return [runs.run_label(r) for r in self.records("pair", pair)]

    def histories(self) -> list[str]:
        return [naming.RUN_HISTORY.format(run=r) for r in self.runs.index]

    def run_records(self) -> list[str]:
        return [naming.RUN_RECORD.format(run=r) for r in self.runs.index]

    @property
    def swept_pairs(self) -> list[str]:
        """Pairs run in several variants: their side-by-side grids, sweep GIFs and loss plots compare
        something (a run sheet's pairs often have one)."""
        counts = self.runs["pair"].value_counts()
        return [p for p in self.pairs if counts[p] > 1]

    @property
    def gridded_variants(self) -> list[str]:
        """Variants run by more than one pair: a contents x styles grid of them compares something."""
        counts = self.runs["variant"].value_counts()
        return [v for v in self.variants if counts[v] > 1]

    def final_outputs(self) -> list[str]:
        return (
            self.finals(self.runs)
            + [naming.GALLERY.format(content=c) for c in self.contents]
            + [naming.GRID_BY_WEIGHTS.format(variant=v) for v in self.gridded_variants]
            + [naming.GRID_BY_PAIR.format(pair=p) for p in self.swept_pairs]
            + [naming.GIF_RUN.format(run=r) for r in self.runs.index]
            + [naming.GIF_SWEEP.format(pair=p) for p in self.swept_pairs]
            + [naming.SUMMARY, naming.PLOT_SWEEP]
            + [naming.PLOT_PAIR.format(pair=p) for p in self.swept_pairs]
            + [naming.PLOT_RUN.format(run=r) for r in self.runs.index]
            + self.video_outputs()
        )

    # --- videos ------------------------------------------------------------------------------

    def video_source(self, video: str) -> str:
        """A clip's own path (file or folder), or where the fetch rule puts a URL's file."""
        return self.image_source("videos", video)

    def video_transfer_inputs(self, run: str) -> dict:
        row = self.video_runs.loc[run]
        return {
            "frames": naming.VIDEO_FRAMES.format(video=row["content"]),
            "info": naming.VIDEO_INFO.format(video=row["content"]),
            "motion": naming.VIDEO_MOTION.format(video=row["content"]),
            "style": self.input_image("styles", row["style"]),
        }

    def video_job(self, run: str) -> dict:
        row = self.video_runs.loc[run]
        return {"loss_weights": runs.run_loss_weights(row), "options": runs.run_options(row),
                "checkpoint": naming.VIDEO_CHECKPOINT.format(run=run)}

    def video_info(self, run: str) -> str:
        return naming.VIDEO_INFO.format(video=self.video_runs.loc[run]["content"])

    def video_label(self, run: str) -> list[str]:
        row = self.video_runs.loc[run]
        return [naming.pair_label(row["content"], row["style"]), runs.run_label(row)]

    def video_report(self, run: str, shows: str) -> dict:
        row = self.video_runs.loc[run]
        return {"category": "Videos", "subcategory": row["content"],
                "labels": {"style": row["style"], "weights": runs.run_label(row), "shows": shows}}

    @staticmethod
    def video_size(info: str | Path) -> tuple[int, int, int]:
        """(height, width) of a clip's frames at the result's size, and how many there are."""
        found = json.loads(Path(info).read_text())
        return found["height"], found["width"], found["frames"]

    def video_runtime(self, run: str, info: str | Path, threads: int, attempt: int = 1) -> int:
        """Minutes: the engine's estimate for a transfer of the first frame, and LATER_SHARE of it for each
        later frame (their budget), x3 headroom, more on each retry."""
        height, width, frames = self.video_size(info)
        one = estimate.run_seconds(self.run_settings(self.video_runs.loc[run]), self.backbone, height, width, threads)
        return int(10 + 3 * attempt * one * (1 + (frames - 1) * LATER_SHARE) / 60)

    def video_mem_mb(self, run: str, info: str | Path, attempt: int = 1) -> int:
        height, width, _ = self.video_size(info)
        need = estimate.request_bytes(self.run_settings(self.video_runs.loc[run]), self.backbone, height, width)
        return int(attempt * 1.25 * need) // 2**20

    def video_outputs(self) -> list[str]:
        return [path.format(run=run) for run in self.video_runs.index
                for path in (naming.VIDEO_CLIP, naming.VIDEO_PREVIEW)]

    def video_histories(self) -> list[str]:
        return [naming.VIDEO_HISTORY.format(run=r) for r in self.video_runs.index]

    def video_records(self) -> list[str]:
        return [naming.VIDEO_RECORD.format(run=r) for r in self.video_runs.index]
