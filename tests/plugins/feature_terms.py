"""Two loss terms that read feature maps, registered as a user's plugin would: both are written
as sums over positions, so tiled stages evaluate them exactly without any change to nst.tiling.

`feature_mean`: the squared distance between the image's mean activation per channel at
block2_conv1 and the style images' (a loss of totals: two passes when tiled).
`content_l1`: sum |F - P| between the image's and the content's block1_conv2 maps (itself a sum:
one pass when tiled).
"""

import tensorflow as tf

from nst.terms import Term, register_term

LAYER = "block2_conv1"


@register_term
class FeatureMean(Term):
    name = "feature_mean"

    def layers(self):
        return [LAYER]

    def target_specs(self, channels):
        return (tf.TensorSpec((channels[LAYER],), tf.float32),)

    def image_sums(self, maps):
        return self.partials(None, maps, (), {}, {})

    def targets(self, content, styles):
        return (tf.add_n([blend * style.sums[0] / style.sums[1] for style, blend in styles]),)

    def partials(self, image, maps, targets, content_maps, guides):
        values = tf.cast(maps[LAYER], tf.float32)
        positions = tf.cast(tf.shape(values)[1] * tf.shape(values)[2], tf.float32)
        return tf.reduce_sum(values, axis=(0, 1, 2)), positions

    def combine(self, totals, targets, height, width):
        channel_sums, positions = totals
        return tf.reduce_sum(tf.square(channel_sums / positions - targets[0]))


@register_term
class ContentL1(Term):
    name = "content_l1"
    additive = True

    def layers(self):
        return ["block1_conv2"]

    def content_layers(self):
        return ["block1_conv2"]

    def partials(self, image, maps, targets, content_maps, guides):
        difference = tf.cast(maps["block1_conv2"], tf.float32) - content_maps["block1_conv2"]
        return (tf.reduce_sum(tf.abs(difference)),)
