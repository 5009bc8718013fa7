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


def clip_with_sound(path, frames, fps=24, seconds_of_tone=None):
    """An MP4 with the frames and an AAC tone as long as they last (encoded by PyAV's FFmpeg)."""
    import av

    rate = 44100
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        sound = container.add_stream("aac", rate=rate)
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        total = int(rate * (seconds_of_tone or len(frames) / fps))
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(total) / rate)).astype(np.float32)
        for start in range(0, total, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[np.newaxis, start:start + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = rate, start
            for packet in sound.encode(chunk):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)


def sound_seconds(path) -> float:
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        stream = container.streams.audio[0]
        packets = [p for p in container.demux(stream) if p.pts is not None]
        return float((max(p.pts + p.duration for p in packets) - min(p.pts for p in packets)) * stream.time_base)


def test_the_sound_of_the_frames_span_is_copied_unchanged(tmp_path, frames):
    source = tmp_path / "talk.mp4"
    clip_with_sound(source, frames, fps=24)  # 12 frames: half a second
    part = read_clip(source, start=2, stop=8)  # frames 2..7: a quarter of a second
    assert part.seconds == pytest.approx((2 / 24, 8 / 24), abs=1e-3)
    assert write_clip(part.frames, tmp_path / "out.mp4", part.fps, audio_from=part) == []
    assert sound_seconds(tmp_path / "out.mp4") == pytest.approx(6 / 24, abs=0.05)  # AAC frames are 1024 samples
    assert len(read_clip(tmp_path / "out.mp4").frames) == 6
    notices = write_clip(part.frames, tmp_path / "out.webm", part.fps, audio_from=part)
    assert "its sound (aac) cannot go into a .webm file unchanged" in notices[0]
    assert sound_seconds(tmp_path / "out.webm") == 0 and len(read_clip(tmp_path / "out.webm").frames) == 6
    silent = tmp_path / "silent.mp4"
    write_clip(frames, silent, 24)
    assert write_clip(frames[:3], tmp_path / "again.mp4", 24, audio_from=read_clip(silent)) == []
