"""Decoding, orientation, mode conversion and VGG pre/de-processing on real image files."""

import numpy as np
import pytest
from PIL import Image

from nst import images
from nst.errors import ImageError


def test_preprocess_round_trip_is_exact_on_uint8(rng):
    rgb = rng.integers(0, 256, size=(7, 9, 3)).astype(np.uint8)
    x = images.preprocess(rgb.astype(np.float32))
    assert x.shape == (1, 7, 9, 3)
    np.testing.assert_array_equal(images.deprocess(x), rgb)


def test_preprocess_is_bgr_minus_imagenet_mean():
    rgb = np.zeros((1, 1, 3), np.float32)
    rgb[0, 0] = (10, 20, 30)
    x = images.preprocess(rgb)[0, 0, 0]
    np.testing.assert_allclose(x, [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-6)


def test_deprocess_clips():
    x = np.full((1, 2, 2, 3), 1000.0, np.float32)
    assert images.deprocess(x).max() == 255
    assert images.deprocess(-x).min() == 0


def test_fit_size_keeps_aspect_ratio():
    assert images.fit_size(1024, 768, 512) == (512, 384)
    assert images.fit_size(300, 900, 90) == (30, 90)


def test_exif_orientation_is_honoured(tmp_path):
    wide = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rotated.jpg"
    wide.save(path, exif=exif)
    assert images.load_rgb(path).size == (20, 40)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.new("CMYK", (16, 12), (0, 255, 255, 0)),  # red in CMYK
        lambda: Image.new("L", (16, 12), 128),
        lambda: Image.new("1", (16, 12), 1),
    ],
    ids=["cmyk", "grey", "bilevel"],
)
def test_common_modes_convert_to_rgb(tmp_path, make):
    path = tmp_path / "in.tif"
    make().save(path)
    out = images.load_rgb(path)
    assert out.mode == "RGB" and out.size == (16, 12)


def test_sixteen_bit_png_is_scaled_to_eight_bits(tmp_path):
    values = np.full((10, 10), 65535 // 2, np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as check:
        assert check.mode.startswith("I")
    out = np.asarray(images.load_rgb(path))
    assert out.shape == (10, 10, 3) and abs(int(out[0, 0, 0]) - 128) <= 1


def test_palette_with_transparency_is_flattened_on_white(tmp_path):
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), 1)
    path = tmp_path / "pal.png"
    im.save(path, transparency=0)
    out = np.asarray(images.load_rgb(path))
    assert tuple(out[0, 0]) == (255, 0, 0)  # opaque red stays
    assert tuple(out[4, 4]) == (255, 255, 255)  # transparent becomes white


def test_float_grey_image_in_0_to_1_is_scaled(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.full((8, 8), 0.5, np.float32)).save(path)
    with Image.open(path) as check:
        assert check.mode == "F"
    notices = []
    out = np.asarray(images.load_rgb(path, notices))
    assert out.shape == (8, 8, 3) and set(out.ravel()) == {128} and notices == []


def test_float_rgb_tiff_is_read_and_values_outside_0_to_1_clipped_with_a_notice(tmp_path):
    import tifffile

    values = np.zeros((6, 10, 3), np.float32)
    values[..., 0] = 1.0
    values[0, :5] = (2.0, -1.0, 0.25)  # 10 of 180 values outside 0..1
    path = tmp_path / "hdr.tiff"
    tifffile.imwrite(path, values, photometric="rgb")
    with pytest.raises(Exception):
        Image.open(path).load()  # Pillow alone cannot decode it
    notices = []
    out = np.asarray(images.load_rgb(path, notices))
    assert out.shape == (6, 10, 3)
    assert tuple(out[3, 3]) == (255, 0, 0) and tuple(out[0, 0]) == (255, 0, 64)
    assert len(notices) == 1 and "hdr.tiff: 32-bit float pixels are read as 0..1; 5.6 %" in notices[0]


def test_float_rgba_tiff_gives_its_alpha_and_its_colour_on_white(tmp_path):
    import tifffile

    values = np.ones((4, 6, 4), np.float32) * (0.0, 0.0, 1.0, 1.0)
    values[:, :3, 3] = 0.5  # left half half-transparent
    path = tmp_path / "layer.tiff"
    tifffile.imwrite(path, values, photometric="rgb", extrasamples=["unassalpha"])
    loaded = images.load(path)
    assert np.asarray(loaded.alpha).tolist() == [[128, 128, 128, 255, 255, 255]] * 4
    assert tuple(np.asarray(loaded.rgb)[0, 0]) == (127, 127, 255) and tuple(np.asarray(loaded.rgb)[0, 5]) == (0, 0, 255)


def test_the_loader_refuses_every_role_alike(tmp_path):
    """One refusal for a file that is not an image, whichever role it comes in (content, style, init)."""
    from nst.inputs import Inputs
    from nst.settings import TransferSettings

    bad, good = tmp_path / "notes.png", tmp_path / "good.png"
    bad.write_text("not an image")
    Image.new("RGB", (64, 64), (10, 20, 30)).save(good)
    said = set()
    for content, style, init in ((bad, good, "noise"), (good, bad, "noise"), (good, good, str(bad))):
        with pytest.raises(ImageError) as raised:
            Inputs.load(content, [style], TransferSettings(init=init))
        said.add(str(raised.value))
    assert said == {f"{bad}: not an image Pillow can read (corrupt, or not an image file)"}


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_rgb_is_read(tmp_path, suffix):
    import tifffile

    values = np.zeros((4, 5, 3), np.uint16)
    values[..., 1] = 65535
    values[..., 2] = 32896  # 128.5 in 8 bits
    path = tmp_path / f"deep{suffix}"
    if suffix == ".tif":
        tifffile.imwrite(path, values, photometric="rgb")
    else:
        _write_png16(path, values)
    out = np.asarray(images.load_rgb(path))
    assert out.shape == (4, 5, 3) and tuple(out[2, 2]) == (0, 255, 128)


def _write_png16(path, values):
    """A 16-bit RGB PNG (Pillow cannot write one), chunk by chunk."""
    import struct
    import zlib

    h, w, _ = values.shape
    raw = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_corrupt_truncated_non_image_and_missing(tmp_path, small_images):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    with pytest.raises(ImageError, match="notes.png: not an image"):
        images.load_rgb(text)

    cut = tmp_path / "cut.png"
    cut.write_bytes(small_images["content"].read_bytes()[:2000])
    with pytest.raises(ImageError, match="cut.png: cannot be decoded.*truncated"):
        images.load_rgb(cut)

    with pytest.raises(ImageError, match="absent.jpg: no such file"):
        images.load_rgb(tmp_path / "absent.jpg")
    with pytest.raises(ImageError, match="is a directory"):
        images.load_rgb(tmp_path)


def test_decompression_bomb_is_refused(tmp_path):
    side = 12_000  # 144 Mpx: between Pillow's warning and error limits, so the warning path is tested
    bomb = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(bomb)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(ImageError, match="bomb.png: has more than .* decompression bomb"):
        images.load_rgb(bomb)


def test_save_png_is_atomic_and_leaves_no_temp(tmp_path, rng):
    target = tmp_path / "sub" / "out.png"
    rgb = rng.integers(0, 256, size=(5, 6, 3)).astype(np.uint8)
    images.save_png(rgb, target)
    np.testing.assert_array_equal(np.asarray(Image.open(target)), rgb)
    assert [p.name for p in target.parent.iterdir()] == ["out.png"]
