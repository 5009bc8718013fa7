"""The run loop: the settings' stages, each optimised in turn, every step told to observers.

    plan (settings.stages()) ─▶ for each stage: resize inputs, compute targets, optimise
        each evaluation ─▶ observer.evaluated(Evaluation)
        each iteration  ─▶ observer.iterated(Iteration)
    end ─▶ observer.finished(TransferResult)   (always: completed, diverged or stopped)

The loop itself writes nothing: the progress bar, log lines, frames, the history CSV, the
final image and the run record are observers (nst.observers), and so is anything a
caller adds, such as a benchmark's stopwatch. An observer may raise `StopRun` to end the
run early; the run then finishes with the last iteration's image, status "stopped".
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import images
from .backends import installed
from .device import gpu_hardware
from .engine import Engine, engine_for
from .errors import DivergedError, SettingsError
from .estimate import memory_limit, peak_rss_mib, plan_run
from .inputs import Inputs, StageImages
from .loss_values import Losses
from .records import HistoryRow, RunRecord, command_line, versions
from .settings import Stage, TransferSettings

log = logging.getLogger("nst")


class StopRun(Exception):
    """Raised by an observer to end a run early, keeping the last iteration's image."""


@dataclass(frozen=True)
class RunStart:
    settings: TransferSettings
    stages: list[Stage]
    seed: int
    backbone: str
    precision: str
    terms: list[str]  # the objective's terms, in summing order
    notices: list[str]


@dataclass(frozen=True)
class Evaluation:
    stage: int
    size: int
    number: int  # evaluations so far in the run, this one included
    losses: Losses
    seconds: float  # optimisation seconds so far in the run


@dataclass(frozen=True)
class Iteration:
    row: HistoryRow  # stage, size, iteration (0-based over all stages), losses, evaluations, seconds
    image: np.ndarray | None  # the optimiser's image, preprocessed (1, H, W, 3) float32; None when replayed
    render: Callable[[np.ndarray], np.ndarray]  # preprocessed -> the uint8 RGB that is saved
    state: dict | None = None  # the optimiser's state after it (what a checkpoint keeps); None when replayed

    def rgb(self) -> np.ndarray:
        return self.render(self.image)

    @property
    def replayed(self) -> bool:
        """An iteration of an earlier, interrupted process, told again as a run resumes."""
        return self.state is None


@dataclass
class TransferResult:
    image: np.ndarray | None  # (H, W, 3) uint8 RGB (RGBA with a transparent content), None when no iteration finished
    history: list[HistoryRow]
    record: RunRecord
    error: DivergedError | None = None
    image16: np.ndarray | None = None  # the same at 16 bits per channel, with output_depth 16
    x: np.ndarray | None = None  # the optimiser's final image, preprocessed

    @property
    def status(self) -> str:
        return self.record.status


class Observer:
    """Hooks of a run; each does nothing unless overridden."""

    def started(self, run: RunStart) -> None: ...

    def stage_started(self, stage: int, size: int, images: StageImages) -> None: ...

    def evaluated(self, evaluation: Evaluation) -> None: ...

    def iterated(self, iteration: Iteration) -> None: ...

    def finished(self, result: TransferResult) -> None: ...

    def closed(self) -> None:
        """Always called last, also when the run ends by an exception (release what you hold)."""


def idle_gpu(settings: TransferSettings, backend) -> str | None:
    """The GPU a run leaves idle: `auto` took TensorFlow (the default where it is installed), which computes
    on the CPU, while PyTorch is installed too and the machine has a GPU it could use (None otherwise)."""
    if (settings.backend != "auto" or os.environ.get("NST_BACKEND", "auto") != "auto" or backend.name != "tensorflow"
            or backend.on_gpu() or not installed("torch")):
        return None
    return gpu_hardware()


@dataclass
class Transfer:
    """One prepared transfer: checked inputs and settings, and the engine to run them with."""

    inputs: Inputs
    settings: TransferSettings
    engine: Engine
    output: str | None = None  # only recorded; writing it is an observer's job
    notices: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    plans: list = field(default_factory=list)  # nst.estimate.StagePlan of every stage: tiled or not, which state

    @classmethod
    def prepare(cls, content, styles, settings: TransferSettings | None = None, output=None, guides=None
                ) -> "Transfer":
        """Check settings, decode every input, build the engine and check the sizes: all before any work.
        `guides`: per-position inputs of the content's size by name (nst.inputs.Inputs.load)."""
        started = time.perf_counter()
        settings = (settings or TransferSettings()).validate(n_styles=len(styles))
        if output is not None and settings.output_depth == 16 and images.output_format(output) not in ("PNG", "TIFF"):
            raise SettingsError("output_depth", f"16 bits per channel are written as PNG or TIFF, but {output} names a "
                                f"{images.output_format(output)} file: name a .png or .tif output, or keep 8 bits")
        inputs = Inputs.load(content, styles, settings, guides)
        engine = engine_for(settings)
        inputs.check_sizes(settings, engine.backbone)
        limit, source = memory_limit(settings.max_memory, engine.backend.free_memory())
        on_device = engine.backend.optimiser_on_gpu()
        plans = plan_run(settings, engine.backbone, [inputs.shape_at(size) for size in settings.sizes()], limit,
                         engine.backend.plan_precision(engine.precision), on_device)
        notices = list(inputs.notices) + inputs.upscaled_styles(settings)
        if on_device and settings.optimizer == "lbfgs":
            notices.append("the float32 L-BFGS (optimizer lbfgs32) runs scipy's L-BFGS-B loops on the GPU, where "
                           "the optimiser's state stays; scipy's would take the image to the host at every evaluation")
        asked = "lbfgs32" if on_device and settings.optimizer == "lbfgs" else settings.optimizer
        for size, plan in zip(settings.sizes(), plans):
            if (plan.tile or plan.optimizer != asked or plan.lbfgs_history != settings.lbfgs_history
                    or not plan.bounds):
                within = f"to stay within {limit / 2**30:.1f} GiB ({source})" if limit else "as --tile asks"
                notices.append(f"{size} px runs {plan.describe()}, {within}")
        idle = idle_gpu(settings, engine.backend)
        if idle:
            notices.append(f"TensorFlow computes on the CPU here, but this machine has {idle}, which PyTorch can use: "
                           "--backend torch (config: nst: {backend: torch}) runs there")
        if settings.backbone == "auto" and engine.backbone != "vgg16":
            notices.append(
                f"VGG16 (the article's network) weights were not available; used {engine.backbone} "
                f"from {engine.network_weights.source}"
            )
        return cls(inputs, settings, engine, None if output is None else str(output), notices, started, plans)

    def run(self, observers: list[Observer], resume=None) -> TransferResult:
        """Optimise every stage, telling `observers`; with `resume` (a `nst.checkpoint.Saved` of
        this run) continue after its last finished iteration."""
        settings = self.settings
        seed = resume.meta["seed"] if resume is not None else (
            settings.seed if settings.seed is not None else secrets.randbits(32))
        if settings.seed is not None:
            self.engine.backend.deterministic()
        rng = np.random.default_rng(seed)
        stages = settings.stages()
        progress = _Progress()
        status, error, x, images = "completed", None, None, None
        try:
            try:
                _tell(observers, "started", RunStart(settings, stages, seed, self.engine.backbone,
                                                     self.engine.precision, self.engine.objective.names,
                                                     self.notices))
                self._replay(resume, observers, progress)
                for work in self._stages_to_run(stages, resume):
                    images = self.inputs.stage(settings, work.stage.size)
                    x = self._start_image(work, x, images, rng, resume)
                    try:
                        x = self._run_stage(work, x, images, observers, progress)
                    except DivergedError as exc:
                        status, error, x = "diverged", exc, exc.last_good
                        break
            except StopRun as exc:
                status = "stopped"
                x, images = progress.last_good if progress.last_good is not None else (None, images)
                log.info("stopped: %s", exc)
            if resume is not None and resume.complete:  # nothing was left to do: what it made, again
                images = self.inputs.stage(settings, settings.size)
                result = self._result(status, error, resume.state["x"], images, progress.history, seed,
                                      progress.seconds)
                result.record = RunRecord(**resume.record())
            else:
                result = self._result(status, error, x, images, progress.history, seed, progress.seconds)
            _tell(observers, "finished", result)
            return result
        finally:
            for observer in observers:
                observer.closed()

    # --- resuming, planned before the loop -------------------------------------------------

    def _replay(self, resume, observers: list[Observer], progress: "_Progress") -> None:
        """Tell the observers again what an earlier process finished."""
        restored = resume.history if resume is not None else []
        for row in restored:
            frame = resume.frame(row.iteration)
            progress.history.append(row)
            _tell(observers, "iterated", Iteration(row, None, lambda _, frame=frame: frame))
        if restored:
            log.info("resumed at iteration %d of %d from %s", len(restored), self.settings.frame_count(),
                     resume.folder)
            progress.seconds = restored[-1].seconds

    @staticmethod
    def _stages_to_run(stages: list[Stage], resume) -> list["_StageWork"]:
        """The stages left to optimise, each with the iteration it starts at and, for the stage an
        earlier process stopped in, the optimiser state to continue from."""
        restored = resume.history if resume is not None else []
        work, first = [], 0
        for index, stage in enumerate(stages):
            done_here = sum(1 for row in restored if row.stage == index)
            finished = done_here == stage.iterations and (index < len(stages) - 1 or resume.complete)
            if not finished:  # a finished stage's result, where needed, is in the saved state
                work.append(_StageWork(index, stage, first, resume.state if done_here else None))
            first += stage.iterations
        return work

    def _start_image(self, work: "_StageWork", x, images: StageImages, rng, resume) -> np.ndarray:
        """Where a stage's optimisation starts: its saved state, the stage before's result upscaled
        (from this process or an earlier one), or the settings' initial image."""
        h, w = images.shape
        backend = self.engine.backend
        if work.state is not None:
            return backend.vectors.from_host(work.state["x"])
        if resume is not None and resume.history and x is None:
            return backend.resize(backend.vectors.from_host(resume.state["x"]), h, w)
        if x is None:
            return backend.vectors.from_host(images.initial_image(self.settings, rng, self.inputs.init))
        return backend.resize(x, h, w)

    # --- one stage: evaluate, step, tell the observers -----------------------------------------

    def _run_stage(self, work: "_StageWork", x, images: StageImages, observers: list[Observer],
                   progress: "_Progress") -> np.ndarray:
        settings, index, stage = self.settings, work.index, work.stage
        stage_start = time.perf_counter()
        _tell(observers, "stage_started", index, stage.size, images)
        plan = self.plans[index]
        objective = self.engine.objective_for(plan.tile, plan.forward_tile)
        targets = images.targets(objective, settings, self.inputs.shape_at(settings.stages()[0].size))
        if index > 0 and settings.coarse_style > 0:
            objective = self._with_coarse_style(objective, images)
        history = progress.history
        before = _Before(progress.seconds,
                         history[-1].evaluations - (work.state["count"] if work.state else 0) if history else 0,
                         work.first_iteration)

        def seconds() -> float:
            return before.seconds + time.perf_counter() - stage_start

        def on_evaluation(losses, count):
            _tell(observers, "evaluated", Evaluation(index, stage.size, before.evaluations + count, losses, seconds()))

        def on_iteration(result, image):
            row = HistoryRow(index, stage.size, before.iterations + result.iteration, result.losses,
                             before.evaluations + result.evaluations, round(seconds(), 4))
            history.append(row)
            image = vectors.to_host(image)  # the host sees the image once per iteration
            progress.last_good = (image, images)
            _tell(observers, "iterated", Iteration(row, image, lambda x: images.render(x, settings), result.state))

        vectors = self.engine.backend.vectors
        kept = images.kept()
        if kept is not None:  # content-only pixels: the photo's, and no gradient moves them
            x = vectors.from_host(images.with_photo_kept(vectors.to_host(x), kept))
        try:
            return self._optimise(stage, plan, objective, x, targets, on_iteration, on_evaluation, work.state,
                                  None if kept is None else 1.0 - kept)
        except DivergedError as exc:
            exc.iteration += before.iterations
            exc.evaluation += before.evaluations
            exc.last_good = None if exc.last_good is None else vectors.to_host(exc.last_good)
            raise
        finally:
            progress.seconds = seconds()

    def _with_coarse_style(self, objective, images: StageImages):
        """The stage's objective plus the style at the first stage's scale (nst/coarse_style.py),
        evaluated as the first stage's plan evaluates its images."""
        from .coarse_style import CoarseStyle

        first_plan = self.plans[0]
        return CoarseStyle(objective, self.engine.objective_for(first_plan.tile, first_plan.forward_tile),
                           self.inputs.stage(self.settings, self.settings.stages()[0].size), images.shape,
                           self.settings)

    def _optimise(self, stage: Stage, plan, objective, x, targets, on_iteration, on_evaluation, state=None,
                  free=None) -> np.ndarray:
        """`free`: (1, H, W, 1), 0 at pixels the optimiser must not move (their gradient is zeroed)."""
        from .optimise import adam, lbfgs

        settings = self.settings
        vectors = self.engine.backend.vectors
        free = None if free is None else vectors.from_host(free)

        def evaluate(image):
            losses, grad = objective.value_and_grad(image, targets)
            return (losses, grad) if free is None else (losses, grad * free)

        if plan.optimizer in ("lbfgs", "lbfgs32"):
            return lbfgs(evaluate, x, stage.iterations, stage.evals_per_iteration, plan.lbfgs_history,
                         on_iteration, on_evaluation, first_step=settings.lbfgs_step,
                         bounds=images.PIXEL_BOUNDS if settings.lbfgs_bounds and plan.bounds else None,
                         restarts=settings.lbfgs_restarts, resume=state,
                         state="float32" if plan.optimizer == "lbfgs32" else "float64", vectors=vectors)
        return adam(evaluate, x, stage.iterations, stage.evals_per_iteration, settings.learning_rate, on_iteration,
                    on_evaluation, resume=state, vectors=vectors)

    def _result(self, status, error, x, images, history, seed, optimise_seconds) -> TransferResult:
        x = None if x is None else self.engine.backend.vectors.to_host(x)
        image = images.render(x, self.settings) if (x is not None and history) else None
        image16 = images.render16(x, self.settings) if image is not None and self.settings.output_depth == 16 else None
        shape = images.shape if images is not None else (0, 0)
        record = RunRecord(
            status=status,
            content=self.inputs.content_name,
            styles=self.inputs.style_names,
            output=self.output,
            settings=self.settings.to_dict(),
            seed=seed,
            backbone=self.engine.backbone,
            weights_source=self.engine.network_weights.source,
            weights_file=self.engine.network_weights.detail,
            precision=self.engine.precision,
            precision_reason=self.engine.precision_reason,
            device=self.engine.backend.describe_device(),
            versions=versions(),
            command=command_line(),
            notices=list(self.notices),
            output_size=[int(shape[1]), int(shape[0])],
            iterations_completed=len(history),
            evaluations=history[-1].evaluations if history else 0,
            final_losses=history[-1].losses.as_dict() if history else None,
            seconds={
                "build": round(self.engine.build_seconds, 3),
                "optimise": round(optimise_seconds, 3),
                "total": round(time.perf_counter() - self.started, 3),
            },
            diverged=str(error) if error is not None else None,
            plan=[plan.describe() for plan in self.plans],
            peak_rss_mib=peak_rss_mib(),
            backend=self.engine.backend.name,
            tf32=bool(getattr(self.engine.backend, "tf32", False)),
            peak_device_mib=self.engine.backend.peak_memory_mib(),
        )
        return TransferResult(image, history, record, error, image16, x)


@dataclass
class _Progress:
    """What the run has done so far: its history rows, optimisation seconds, and the last
    iteration's image with its stage's images (kept for a run an observer stops)."""

    history: list[HistoryRow] = field(default_factory=list)
    seconds: float = 0.0
    last_good: tuple | None = None


@dataclass(frozen=True)
class _StageWork:
    """A stage left to optimise: its index, budget, first iteration (over all stages) and the
    optimiser state an earlier process left in it."""

    index: int
    stage: Stage
    first_iteration: int
    state: dict | None


@dataclass(frozen=True)
class _Before:
    """Where the run stood when a stage began."""

    seconds: float
    evaluations: int
    iterations: int


def _tell(observers: list[Observer], hook: str, *args) -> None:
    for observer in observers:
        getattr(observer, hook)(*args)

