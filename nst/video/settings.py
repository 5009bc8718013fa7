"""What a video adds to a transfer's settings, each defined once: which frames, and how the chain runs them.

`VideoSettings` is the only description of a video option, as `TransferSettings` is of a
transfer's: `nst video`'s flags (nst/settings_cli.py), the workflow's `video:` schema and
config/README.md's `video.*` rows (nst/settings_docs.py, `make docs`) are made from it, and
tests/test_settings.py fails on drift. The temporal term's weight is not here: it is a loss
term's weight like any other (`--temporal-weight W` spells `--terms temporal=W`, a weights
entry's `temporal`), and `for_video` gives it its default where the settings leave it out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..settings import TransferSettings, check_fields, option

VIDEO = "video"  # the options' group: `nst video`'s argument group, the workflow's `video:` block

# The temporal term's weight where none is given: consistency against the warm start (docs/video.md).
TEMPORAL_WEIGHT = 50.0
# Each later frame's evaluations, as a share of the first frame's: enough for a later frame to reach
# the first frame's loss (docs/video.md).
LATER_SHARE = 0.3


@dataclass(frozen=True)
class VideoSettings:
    """Options of a video: the frames taken from the clip, and the chain's own."""

    start: int = option(0, "first frame to take (0-based)", group=VIDEO, minimum=0)
    stop: int | None = option(None, "the frame to stop before (default: the end)", group=VIDEO, minimum=1)
    step: int = option(1, "take every step-th frame (the frame rate divides by it)", group=VIDEO, minimum=1)
    fps: float = option(25.0, "frame rate of a folder of numbered images", group=VIDEO, above=0)
    frame_evals: int = option(
        0, "evaluations of each frame after the first; 0: three tenths of the first frame's", group=VIDEO, minimum=0,
        metavar="N",
    )
    independent: bool = option(
        False, "style every frame on its own, from its content, without the temporal term (what temporal "
        "consistency is compared with)", group=VIDEO,
    )
    fill: str = option(
        "warped", "where the flow cannot be trusted, a later frame starts from the warped previous result's own "
        "pixels (warped) or from the content frame's (content)", group=VIDEO, choices=("warped", "content"),
    )
    preview_frames: int = option(24, "frames in each video run's preview GIF", group=VIDEO, minimum=1, in_cli=False)

    def validate(self) -> "VideoSettings":
        """Refuse values the chain cannot use, naming the option; return self."""
        check_fields(self)
        return self

    @classmethod
    def from_mapping(cls, values: dict) -> "VideoSettings":
        """Settings from a config mapping (the workflow's `video:` block)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def later_budget(self, settings: TransferSettings) -> int:
        """Evaluations of each frame after the first."""
        return self.frame_evals or max(10, round(LATER_SHARE * settings.planned_evaluations()))

    def for_video(self, settings: TransferSettings) -> TransferSettings:
        """The transfer settings every frame starts from: with the temporal term at the weight the
        settings give it (TEMPORAL_WEIGHT where they give none), or without it for independent frames."""
        terms = {name: weight for name, weight in settings.terms.items() if name != "temporal"}
        if not self.independent:
            terms["temporal"] = settings.terms.get("temporal", TEMPORAL_WEIGHT)
        return dataclasses.replace(settings, terms=terms)
