"""A loss term that is not built in, registered the way a user's plugin registers one, written
with the backend's array functions (`self.ops`), so it runs on TensorFlow and PyTorch alike.

`mean_colour`: the squared distance between the image's mean colour and the (blended)
style images' mean colour, in the network's BGR mean-subtracted space.
"""

from nst.terms import Term, register_term


@register_term
class MeanColour(Term):
    name = "mean_colour"

    def target_specs(self, channels):
        return (self.ops.spec((3,)),)

    def targets(self, content, styles):
        return (self.ops.add_n([blend * self.ops.mean(style.image, axis=(0, 1, 2)) for style, blend in styles]),)

    def loss(self, image, maps, targets, content_maps, guides):
        ops = self.ops
        return ops.sum(ops.square(ops.mean(image, axis=(0, 1, 2)) - targets[0]))
