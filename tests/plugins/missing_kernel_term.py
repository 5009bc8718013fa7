"""A loss term whose operation the device has no kernel for, failing as PyTorch on Apple's MPS fails
(its NotImplementedError, in its words: pytorch/pytorch#141287 collects them): `nst` and the workflow
must say so in one line, with what to do (tests/test_device_limits.py)."""

from nst.terms import Term, register_term

MESSAGE = ("The operator 'aten::_upsample_bicubic2d_aa.out' is not currently implemented for the MPS device. If "
           "you want this op to be considered for addition please comment on "
           "https://github.com/pytorch/pytorch/issues/141287 and mention use-case, that resulted in missing op as "
           "well as commit hash de51f09432c33cc0b99e5ba2dc2192c6b7200a94. As a temporary fix, you can set the "
           "environment variable `PYTORCH_ENABLE_MPS_FALLBACK=1` to use the CPU as a fallback for this op. "
           "WARNING: this will be slower than running natively on MPS.")


@register_term
class MissingKernel(Term):
    name = "missing_kernel"

    def loss(self, image, maps, targets, content_maps, guides):
        raise NotImplementedError(MESSAGE)
