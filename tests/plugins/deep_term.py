"""A loss term that reads one deep layer only, registered as a user's plugin would: with shallow
content and style layers beside it, the run's network, memory plan, tile halo, smallest size and
time estimate must all reach block5_conv3 because this term reads it (tests/test_tiling.py).

`deep_mean`: the mean activation at block5_conv3 (a sum over positions over their count; any
differentiable number does for the plan, and this one tiles exactly).
"""

from nst.terms import Term, register_term

LAYER = "block5_conv3"


@register_term
class DeepMean(Term):
    name = "deep_mean"

    def layers(self):
        return [LAYER]

    def partials(self, image, maps, targets, content_maps, guides):
        ops = self.ops
        values = ops.float32_of(maps[LAYER])
        return ops.sum(values), ops.size(values, 1) * ops.size(values, 2)

    def combine(self, totals, targets, height, width):
        total, positions = totals
        return total / positions
