"""A loss term that is not built in, registered the way a user's plugin registers one.

`mean_colour`: the squared distance between the image's mean colour and the (blended)
style images' mean colour, in the network's BGR mean-subtracted space.
"""

import tensorflow as tf

from nst.terms import Term, register_term


@register_term
class MeanColour(Term):
    name = "mean_colour"

    def target_specs(self, channels):
        return (tf.TensorSpec((3,), tf.float32),)

    def targets(self, content, styles):
        return (tf.add_n([blend * tf.reduce_mean(style.image, axis=(0, 1, 2)) for style, blend in styles]),)

    def loss(self, image, maps, targets, content_maps, guides):
        return tf.reduce_sum(tf.square(tf.reduce_mean(image, axis=(0, 1, 2)) - targets[0]))
