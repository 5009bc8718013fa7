"""Reading and writing clips (nst/video/clips.py): real encodes through PyAV's FFmpeg, the project's clip."""

from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from nst.video.clips import VideoError, read_clip, write_clip
from nst.video.synthetic import synthetic_clip
from snakemake_runner import ROOT


@pytest.fixture(scope="module")
def frames():
    photo = np.asarray(Image.open(ROOT / "data/content/coffee.png").convert("RGB"))
    return synthetic_clip(photo, frames=12).frames


@pytest.mark.parametrize("suffix, tolerance", [(".mp4", 6.0), (".webm", 6.0)])
def test_a_clip_written_and_read_back_keeps_its_frames_size_and_rate(tmp_path, frames, suffix, tolerance):
    path = tmp_path / f"clip{suffix}"
    write_clip(frames, path, Fraction(24))
    clip = read_clip(path)
    assert len(clip.frames) == 12 and clip.fps == 24 and clip.frames[0].shape == (288, 512, 3)
    assert np.mean([np.abs(a.astype(float) - b).mean() for a, b in zip(clip.frames, frames)]) < tolerance
    strided = read_clip(path, start=2, stop=10, step=3)
    assert len(strided.frames) == 3 and strided.fps == 8
    np.testing.assert_array_equal(strided.frames[1], clip.frames[5])
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_gif_and_a_folder_of_frames(tmp_path, frames):
    write_clip(frames[:4], tmp_path / "preview.gif", 12)
    assert len(read_clip(tmp_path / "preview.gif").frames) == 4
    write_clip(frames[:3], tmp_path / "frames", 12)
    back = read_clip(tmp_path / "frames", folder_fps=12)
    assert len(back.frames) == 3 and back.fps == 12
    np.testing.assert_array_equal(back.frames[2], frames[2])  # PNG: lossless


def test_a_folder_of_numbered_images_is_read_in_number_order(tmp_path, frames):
    for k in (10, 2, 1):
        Image.fromarray(frames[k]).save(tmp_path / f"shot_{k}.png")
    clip = read_clip(tmp_path)
    for got, k in zip(clip.frames, (1, 2, 10)):
        np.testing.assert_array_equal(got, frames[k])


def test_bad_clips_are_one_line_each_and_nothing_is_written(tmp_path, frames):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    with pytest.raises(VideoError, match=r"notes.mp4: not a video FFmpeg can read \(.*\); give a video file"):
        read_clip(notes)
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoError, match="empty: no frames; give a clip with frames"):
        read_clip(tmp_path / "empty")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(frames[0]).save(mixed / "f_1.png")
    Image.fromarray(frames[1][:100, :200]).save(mixed / "f_2.png")
    with pytest.raises(VideoError, match=r"mixed: frames change size \(512x288, then 200x100\)"):
        read_clip(mixed)
    with pytest.raises(VideoError, match=r"out.avi: cannot write .avi clips; write .mp4, .webm, .gif or a folder"):
        write_clip(frames, tmp_path / "out.avi", 24)
    with pytest.raises(VideoError, match="absent.mp4: no such file"):
        read_clip(tmp_path / "absent.mp4")
    assert not (tmp_path / "out.avi").exists()
