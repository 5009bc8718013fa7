"""Reading and writing clips: a video file (anything FFmpeg reads, through PyAV) or a folder of
numbered images (through nst.images.load, the one loader of user images), and MP4, WebM, GIF or a
folder of PNG frames out. Every refusal is one `VideoError` naming the file and what to do, and a
clip is written whole or not at all (a temporary file renamed into place)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import images
from ..errors import NSTError
from ..files import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
CODECS = {".mp4": ("libx264", "yuv420p"), ".webm": ("libvpx-vp9", "yuv420p")}


class VideoError(NSTError):
    """A clip that cannot be read or written, said in one line."""


@dataclass
class Clip:
    frames: list[np.ndarray]  # (H, W, 3) uint8 RGB, in order
    fps: Fraction  # the clip's own frame rate (a folder of images: as given)
    source: Path | None
    seconds: tuple[float, float] = (0.0, 0.0)  # the span of the source the frames cover (for its audio)


def _numbered(folder: Path) -> list[Path]:
    """The folder's images in the order of the last number in their names."""
    found = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]

    def number(path: Path) -> tuple:
        digits = re.findall(r"\d+", path.stem)
        return (int(digits[-1]) if digits else -1, path.name)

    return sorted(found, key=number)


def read_clip(path: str | Path, start: int = 0, stop: int | None = None, step: int = 1,
              folder_fps: float = 25.0) -> Clip:
    """Frames `start`, `start + step`, … before `stop` of a video file or a folder of numbered images."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder")
    if path.is_dir():
        files = _numbered(path)[start:stop:step]
        frames = [np.asarray(images.load(f).rgb) for f in files]
        fps = Fraction(folder_fps).limit_denominator(1001) / step
        span = (0.0, 0.0)
    else:
        frames, fps, span = _decode(path, start, stop, step)
    if not frames:
        raise VideoError(f"{path}: no frames{' in that range' if start or stop else ''}; "
                         "give a clip with frames (or a folder of numbered images)")
    sizes = {f.shape[:2] for f in frames}
    if len(sizes) > 1:
        first, other = frames[0].shape[:2], next(s for s in sizes if s != frames[0].shape[:2])
        raise VideoError(f"{path}: frames change size ({first[1]}x{first[0]}, then {other[1]}x{other[0]}); "
                         "every frame of a clip must have one size")
    return Clip(frames, fps, path, span)


def _decode(path: Path, start: int, stop: int | None, step: int) -> tuple[list[np.ndarray], Fraction, tuple]:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: has no video stream; give a video file or a folder of images")
            stream = container.streams.video[0]
            rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
            fps = rate / step
            frames, times = [], []
            for index, frame in enumerate(container.decode(stream)):
                if stop is not None and index >= stop:
                    break
                if index >= start and (index - start) % step == 0:
                    frames.append(frame.to_ndarray(format="rgb24"))
                    times.append(float(frame.time) if frame.time is not None else index / float(rate))
    except VideoError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise VideoError(f"{path}: not a video FFmpeg can read ({exc}); give a video file or a folder of "
                         "numbered images") from None
    span = (times[0], times[-1] + step / float(rate)) if times else (0.0, 0.0)
    return frames, fps, span


def check_output(path: str | Path) -> None:
    """Refuse an output a clip cannot be written to, before any work."""
    suffix = Path(path).suffix.lower()
    if suffix and suffix != ".gif" and suffix not in CODECS:
        raise VideoError(f"{path}: cannot write {suffix} clips; write .mp4, .webm, .gif or a folder (no suffix)")


def write_clip(frames: list[np.ndarray], path: str | Path, fps: Fraction | float, audio_from: Clip | None = None
               ) -> list[str]:
    """`frames` as .mp4 (H.264), .webm (VP9), .gif, or a folder of PNG frames (a path without a
    suffix); whole or not at all. A video file gets `audio_from`'s sound over the span its frames
    came from, copied as it is (not re-encoded). Returns notices (sound that could not be kept)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not suffix:
        for k, frame in enumerate(frames):
            images.save_png(frame, path / f"frame_{k:05d}.png")
        return []
    if suffix == ".gif":  # Pillow's writer: the engine does not import the workflow's gallery helpers
        from PIL import Image

        pictures = [Image.fromarray(np.ascontiguousarray(f[..., :3])) for f in frames]
        with atomic_path(path) as tmp:
            pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], loop=0,
                             duration=round(1000 / float(fps)))
        return []
    check_output(path)
    notices = []
    audio = audio_from if audio_from is not None and audio_from.source is not None and audio_from.source.is_file() \
        else None
    try:
        _encode(frames, path, Fraction(fps).limit_denominator(1001), *CODECS[suffix], audio=audio)
    except _AudioRefused as exc:
        _encode(frames, path, Fraction(fps).limit_denominator(1001), *CODECS[suffix])
        notices.append(f"{audio.source}: its sound ({exc}) cannot go into a {suffix} file unchanged, so {path} "
                       "has none; write .mp4 (or .webm for Opus or Vorbis sound) to keep it")
    return notices


class _AudioRefused(Exception):
    """The container does not take the source's sound as it is."""


def _encode(frames, path: Path, fps: Fraction, codec: str, pixel_format: str, audio: Clip | None = None) -> None:
    import av

    h, w = frames[0].shape[:2]
    even = (h - h % 2, w - w % 2)  # 4:2:0 chroma needs even sides
    with atomic_path(path) as tmp, contextlib.ExitStack() as sources:
        try:
            with av.open(tmp, mode="w", format=path.suffix[1:]) as container:
                stream = container.add_stream(codec, rate=fps)
                stream.width, stream.height, stream.pix_fmt = even[1], even[0], pixel_format
                # every stream is added before the first packet: the container's header is written then
                sound = _sound_stream(audio, container, sources) if audio is not None else None
                for frame in frames:
                    picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[: even[0], : even[1], :3]),
                                                         format="rgb24")
                    for packet in stream.encode(picture):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
                if sound is not None:
                    _copy_sound(audio, container, *sound)
        except _AudioRefused:
            raise
        except av.error.FFmpegError as exc:
            raise VideoError(f"{path}: FFmpeg could not write it with {codec} ({exc}); write .mp4, .webm or .gif "
                             "instead") from None


def _sound_stream(clip: Clip, container, sources: contextlib.ExitStack):
    """(the source's first sound stream, its copy in `container`), or None where the source has no sound."""
    import av

    source = sources.enter_context(av.open(str(clip.source)))
    if not source.streams.audio:
        return None
    sound = source.streams.audio[0]
    if sound.codec_context.name not in container.supported_codecs:
        raise _AudioRefused(sound.codec_context.name)
    try:
        return source, sound, container.add_stream_from_template(sound)
    except (av.error.FFmpegError, ValueError) as exc:
        raise _AudioRefused(sound.codec_context.name) from exc


def _copy_sound(clip: Clip, container, source, sound, out) -> None:
    """The sound's packets over the clip's span, copied with their times moved to start at 0."""
    import av

    begin, end = clip.seconds
    shift = round(begin / sound.time_base)
    for packet in source.demux(sound):
        if packet.pts is None or packet.dts is None:
            continue
        if not begin <= float(packet.pts * sound.time_base) < end:
            continue
        packet.pts -= shift
        packet.dts -= shift
        packet.stream = out
        try:
            container.mux(packet)
        except av.error.FFmpegError as exc:
            raise _AudioRefused(sound.codec_context.name) from exc
