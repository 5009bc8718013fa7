"""The engine of a transfer: the network's weights, the network and the objective, built once per process.

Building costs seconds (network weights, variables, graph tracing), so engines are kept by what
shapes them; a second run in the same process, such as the next weight triple of a
workflow job or a test, reuses its engine. Loss weights are not part of the key: they
are arguments of the traced graph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .backbones import check_layers
from .backends import backend_for, resolve
from .network_weights import NetworkWeights, resolve_network_weights
from .settings import TransferSettings


@dataclass
class Engine:
    """Network weights, network and objective for one backend/backbone/precision/terms choice."""

    network_weights: NetworkWeights
    precision: str
    precision_reason: str
    objective: object  # nst.objective.Objective
    build_seconds: float
    backend: object = None  # nst.backends: TensorFlow's or PyTorch's
    _tiled: dict = field(default_factory=dict)

    @property
    def backbone(self) -> str:
        return self.network_weights.backbone

    def objective_for(self, tile: int, forward_tile: int = 0):
        """The objective itself, or (tile > 0) the same objective evaluated tile by tile, its
        forward-only pass in `forward_tile` px tiles (default: `tile`)."""
        if not tile:
            return self.objective
        key = (tile, max(tile, forward_tile))
        if key not in self._tiled:
            from .tiling import TiledObjective

            self._tiled[key] = TiledObjective(self.objective, *key)
        return self._tiled[key]


_ENGINES: dict[tuple, Engine] = {}


def _key(settings: TransferSettings, precision: str) -> tuple:
    return (
        resolve(settings.backend),
        settings.device,
        settings.backbone,
        settings.weights,
        precision,
        settings.pooling,
        tuple(settings.content_layers),
        tuple(settings.style_layers),
        tuple(settings.loss_weights()),
        tuple(settings.plugins),
        len(settings.style_masks),  # the masked style term's shapes
    )


def engine_for(settings: TransferSettings, precision: str | None = None) -> Engine:
    """Build (or reuse) the engine that `settings` need; `precision` overrides the setting."""
    backend = backend_for(settings.backend, settings.device)
    chosen = backend.choose_precision(precision or settings.precision)
    key = _key(settings, chosen.precision)
    if key not in _ENGINES:
        started = time.perf_counter()
        backend.configure_threads(settings.threads)
        from .objective import Objective
        from .terms import build_terms, every_layer, layers_by_term

        terms = build_terms(settings, backend.ops)
        network_weights = resolve_network_weights(settings.backbone, settings.weights)
        read = layers_by_term(terms)
        outputs = every_layer(read)
        check_layers(network_weights.backbone, read)
        network = backend.network(network_weights.backbone, network_weights.layers, outputs, chosen.precision,
                                  settings.pooling)
        _ENGINES[key] = Engine(network_weights, chosen.precision, chosen.reason, Objective(backend, network, terms),
                               time.perf_counter() - started, backend)
    return _ENGINES[key]
