"""Loss terms that fail as PyTorch fails on a GPU, with its own exception classes and words, so that
`nst` and the workflow can be seen to say each in one line with what to do
(tests/test_device_limits.py):

`missing_kernel`: an operation Apple's MPS has no kernel for (NotImplementedError;
pytorch/pytorch#141287 collects them); `out_of_device_memory`: a CUDA GPU's memory ran out
(torch.OutOfMemoryError, as when another process took what the run planned with).
"""

import torch

from nst.terms import Term, register_term

NO_KERNEL = ("The operator 'aten::_upsample_bicubic2d_aa.out' is not currently implemented for the MPS device. If "
             "you want this op to be considered for addition please comment on "
             "https://github.com/pytorch/pytorch/issues/141287 and mention use-case, that resulted in missing op as "
             "well as commit hash de51f09432c33cc0b99e5ba2dc2192c6b7200a94. As a temporary fix, you can set the "
             "environment variable `PYTORCH_ENABLE_MPS_FALLBACK=1` to use the CPU as a fallback for this op. "
             "WARNING: this will be slower than running natively on MPS.")
OUT_OF_MEMORY = ("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.55 GiB of which "
                 "1.10 GiB is free. Including non-PyTorch memory, this process has 12.31 GiB memory in use.")


@register_term
class MissingKernel(Term):
    name = "missing_kernel"

    def loss(self, image, maps, targets, content_maps, guides):
        raise NotImplementedError(NO_KERNEL)


@register_term
class OutOfDeviceMemory(Term):
    name = "out_of_device_memory"

    def loss(self, image, maps, targets, content_maps, guides):
        raise torch.OutOfMemoryError(OUT_OF_MEMORY)
