"""The value of the objective at one image: the total and each named term, as plain floats.

Kept apart from the objective (and from TensorFlow) so that the optimiser's loops, the
run records and the observers can use it without loading TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Losses(Mapping):
    """The total and each weighted term by name, as floats: `losses["style"]`, `losses.total`."""

    total: float
    parts: dict[str, float]

    def __getitem__(self, name: str) -> float:
        return self.total if name == "total" else self.parts[name]

    def __iter__(self):
        return iter(["total", *self.parts])

    def __len__(self) -> int:
        return 1 + len(self.parts)

    def as_dict(self) -> dict[str, float]:
        return dict(self)

    def finite(self) -> bool:
        return bool(np.isfinite(list(self.values())).all())
