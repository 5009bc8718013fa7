"""Grids and GIFs: exact sizes from the layout, labels drawn, frames counted."""

import numpy as np
from PIL import Image

from nst.workflow.gallery import grid, save_gif


def picture(width, height, value):
    return Image.fromarray(np.full((height, width, 3), value, np.uint8))


def test_grid_size_is_rows_times_columns_times_cell():
    cells = [[(picture(40, 30, 100), ["a x b"]), (None, [])], [(picture(30, 40, 200), ["c"]), (picture(8, 8, 50), [])]]
    sheet = grid(cells, 64)
    assert sheet.size == (2 * 64, 2 * 64)
    pixels = np.asarray(sheet)
    assert pixels[32, 32].tolist() == [100, 100, 100]  # the cell's image, centred
    assert pixels[60, 5].tolist() != [100, 100, 100]  # the label band at the bottom of the cell


def test_gif_has_one_frame_per_image_and_loops(tmp_path):
    frames = [picture(32, 24, v) for v in (0, 120, 240)]
    save_gif(frames, tmp_path / "a.gif", 0.2, [["1"], ["2"], ["3"]])
    gif = Image.open(tmp_path / "a.gif")
    assert gif.n_frames == 3 and gif.size == (32, 24) and gif.info.get("loop") == 0


def test_gif_of_a_single_image(tmp_path):
    save_gif([picture(16, 16, 9)], tmp_path / "one.gif", 0.2)
    assert Image.open(tmp_path / "one.gif").n_frames == 1


def test_gif_frames_of_other_sizes_are_brought_to_the_last(tmp_path):
    save_gif([picture(16, 16, 0), picture(32, 32, 255)], tmp_path / "c2f.gif", 0.2)
    gif = Image.open(tmp_path / "c2f.gif")
    assert gif.size == (32, 32) and gif.n_frames == 2
