"""Two loss terms that read feature maps, registered as a user's plugin would: both are written
as sums over positions, so tiled stages evaluate them exactly without any change to nst.tiling,
and with the backend's array functions (`self.ops`), so they run on TensorFlow and PyTorch alike.

`feature_mean`: the squared distance between the image's mean activation per channel at
block2_conv1 and the style images' (a loss of totals: two passes when tiled).
`content_l1`: sum |F - P| between the image's and the content's block1_conv2 maps (itself a sum:
one pass when tiled).
"""

from nst.terms import Term, register_term

LAYER = "block2_conv1"


@register_term
class FeatureMean(Term):
    name = "feature_mean"

    def layers(self):
        return [LAYER]

    def target_specs(self, channels):
        return (self.ops.spec((channels[LAYER],)),)

    def image_sums(self, maps):
        return self.partials(None, maps, (), {}, {})

    def targets(self, content, styles):
        return (self.ops.add_n([blend * style.sums[0] / style.sums[1] for style, blend in styles]),)

    def partials(self, image, maps, targets, content_maps, guides):
        ops = self.ops
        values = ops.float32_of(maps[LAYER])
        return ops.sum(values, axis=(0, 1, 2)), ops.size(values, 1) * ops.size(values, 2)

    def combine(self, totals, targets, height, width):
        channel_sums, positions = totals
        return self.ops.sum(self.ops.square(channel_sums / positions - targets[0]))


@register_term
class ContentL1(Term):
    name = "content_l1"
    additive = True

    def layers(self):
        return ["block1_conv2"]

    def content_layers(self):
        return ["block1_conv2"]

    def partials(self, image, maps, targets, content_maps, guides):
        ops = self.ops
        return (ops.sum(ops.abs(ops.float32_of(maps["block1_conv2"]) - content_maps["block1_conv2"])),)
