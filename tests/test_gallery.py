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


def test_print_size_frames_and_cells_are_scaled_down(tmp_path):
    """A 2048 px run's frames make a GIF no longer than max_side, and its grid cell is the cell's size."""
    big = [picture(2048, 1536, 0), picture(2048, 1536, 255)]
    save_gif(big, tmp_path / "print.gif", 0.2, max_side=512)
    gif = Image.open(tmp_path / "print.gif")
    assert gif.size == (512, 384) and gif.n_frames == 2
    assert grid([[(big[1], ["print"])]], 256).size == (256, 256)


RED, BLUE, GREEN = (200, 30, 30), (30, 30, 200), (30, 160, 30)


def test_a_content_gallery_is_the_photo_then_each_result_with_its_style_inset():
    from nst.workflow.gallery import BACKGROUND, content_gallery

    cell = 96
    results = [(picture(80, 60, 120), ["style: s", "cw 1 · sw 2 · tvw 3"], Image.new("RGB", (40, 40), BLUE))] * 4
    sheet = np.asarray(content_gallery((Image.new("RGB", (80, 60), RED), "cat"), results, cell))
    assert sheet.shape == (2 * cell, 3 * cell, 3)  # five cells, three to a row
    assert tuple(sheet[cell // 2, cell // 2]) == RED  # the photo comes first
    for index in range(1, 5):
        top, left = (index // 3) * cell, (index % 3) * cell
        assert tuple(sheet[top + 12, left + cell - 12]) == BLUE  # the style, top right
        assert tuple(sheet[top + cell // 2, left + cell // 3]) == (120, 120, 120)  # the result
        assert sheet[top + cell - 5, left + 2:left + cell // 2].mean() < 100  # its label band
    assert (sheet[cell:, 2 * cell:] == BACKGROUND).all()  # the sixth cell stays empty


def test_a_grid_by_weights_has_the_inputs_as_headers_or_is_a_list_when_sparse():
    from nst.workflow.gallery import matrix

    cell = 64
    contents = [(Image.new("RGB", (50, 40), RED), "a"), (Image.new("RGB", (50, 40), RED), "b")]
    styles = [(Image.new("RGB", (40, 40), BLUE), "x"), (Image.new("RGB", (40, 40), GREEN), "y")]
    result = (picture(50, 40, 120), ["a x x"], styles[0][0])
    full = np.asarray(matrix(contents, styles, {(r, c): result for r in range(2) for c in range(2)}, cell, ["cw 1"]))
    assert full.shape == (3 * cell, 3 * cell, 3)  # a header row and column around 2 x 2 results
    assert tuple(full[cell // 2, cell + cell // 2]) == BLUE and tuple(full[cell // 2, 2 * cell + cell // 2]) == GREEN
    assert tuple(full[cell + cell // 2, cell // 2]) == RED
    sparse = np.asarray(matrix(contents, styles, {(0, 0): result, (1, 1): result}, cell, ["cw 1"]))
    assert sparse.shape == (cell, 2 * cell, 3)  # two results of four cells: a list, not a half-empty table


def test_transparent_images_show_over_a_checkerboard():
    from nst.workflow.gallery import fit_into

    see_through = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    tile = np.asarray(fit_into(see_through, 64))
    assert set(map(tuple, tile.reshape(-1, 3))) == {(204, 204, 204), (153, 153, 153)}


def test_a_long_label_wraps_between_words_within_its_cell():
    from nst.workflow.gallery import _font, fitted, label

    font = _font(256)
    text = "cw 0.025 · sw 5 · tvw 1 · color histogram · mask face_and_surround"
    lines = fitted(["chelsea x strokes", text], font, 248)
    assert len(lines) >= 3 and lines[0] == "chelsea x strokes"
    assert " ".join(lines[1:]) == text and all(font.getlength(line) <= 248 for line in lines)
    def band_rows(lines):
        return int((np.asarray(label(picture(256, 256, 200), lines))[:, 0] != 200).any(axis=1).sum())

    assert band_rows(["chelsea x strokes", text]) > band_rows(["chelsea x strokes", "cw 0.025"])
