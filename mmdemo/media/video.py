"""Video files: what is inside (probe), whether the server accepts them, frames, clips.

Everything goes through the ffmpeg binary in ``mmdemo.media.ffmpeg``; probing parses the
stream summary ``ffmpeg -i`` prints, because no ffprobe is shipped with imageio-ffmpeg.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmdemo.config import Limits
from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import DEFAULT_MAX_OUTPUT, input_args, measure_duration, read_header, run_ffmpeg, summarize_stderr

# How still pictures begin (PNG, JPEG, GIF; WebP below): ffmpeg's allow-list refuses them
# anyway; recognising them first lets the message say what the person uploaded.
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_MIN_CLIP_SECONDS = 0.5
# A stream that decodes to less than this share of what its container announces (less one
# second of slack for frame and packet rounding) is damaged, usually cut short.
_MIN_DECODED_SHARE = 0.9


@dataclass(frozen=True)
class SubtitleStream:
    """A subtitle track inside a container; ``index`` counts subtitle streams only (``0:s:N``)."""

    index: int
    codec: str
    language: str | None


@dataclass(frozen=True)
class MediaInfo:
    """What ``ffmpeg -i`` reports about a file; video fields are None when there is no video.

    ``width``/``height`` are the displayed size (rotation metadata applied), which is what
    ``read_frames`` returns.
    """

    path: Path
    size_bytes: int
    duration: float  # seconds; 0.0 when neither the header nor a remux pass reports one
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None
    fps: float | None
    video_codec: str | None
    audio_codec: str | None
    audio_rate: int | None
    audio_channels: int | None
    subtitle_streams: list[SubtitleStream] = field(default_factory=list)
    container: str = ""  # ffmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    pixel_format: str | None = None  # e.g. "yuv420p": browsers play H.264 only in 8-bit 4:2:0


# ---------------------------------------------------------------------------------------------
# probe: parse the stream summary
# ---------------------------------------------------------------------------------------------

_INPUT = re.compile(r"^Input #0, (.+?), from ")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:\d+(?:\[\w+\])?(?:\((\w+)\))?: (Video|Audio|Subtitle): (.*)$")
_SIZE = re.compile(r"^(\d+)x(\d+)\b")
_RATE = re.compile(r"^(\d+(?:\.\d+)?)(k?) (fps|tbr)$")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_NAMED_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "downmix": 2}


def _split_fields(details: str) -> list[str]:
    """Split ``a (x, y), b, c`` on the commas outside parentheses and brackets."""
    fields, depth, current = [], 0, []
    for ch in details:
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "," and depth == 0:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    fields.append("".join(current).strip())
    return [f for f in fields if f]


def _channels(fields: list[str]) -> int | None:
    for f in fields[2:4]:  # codec, rate, then the layout
        name = f.split("(")[0].strip()
        if name in _NAMED_LAYOUTS:
            return _NAMED_LAYOUTS[name]
        if m := re.fullmatch(r"(\d+) channels", name):
            return int(m.group(1))
        if m := re.fullmatch(r"(\d+)\.(\d+)", name):  # 5.1, 7.1
            return int(m.group(1)) + int(m.group(2))
    return None


def _parse_header(text: str) -> dict:
    """Container, duration and the first video/audio stream plus all subtitle streams."""
    out: dict = {"container": None, "duration": None, "video": None, "audio": None, "subs": []}
    current = None
    for line in text.splitlines():
        if out["container"] is None and (m := _INPUT.match(line)):
            out["container"] = m.group(1)
        elif out["duration"] is None and (m := _DURATION.search(line)):
            h, mi, s = m.groups()
            out["duration"] = int(h) * 3600 + int(mi) * 60 + float(s)
        elif m := _STREAM.match(line):
            lang, kind, details = m.groups()
            fields = _split_fields(details)
            codec = fields[0].split()[0] if fields else "unknown"
            current = None
            if kind == "Video" and out["video"] is None and "(attached pic)" not in details:
                size = next((_SIZE.match(f) for f in fields if _SIZE.match(f)), None)
                rates = {r.group(3): float(r.group(1)) * (1000 if r.group(2) else 1)
                         for f in fields if (r := _RATE.match(f))}
                current = out["video"] = {
                    "codec": codec,
                    "width": int(size.group(1)) if size else None,
                    "height": int(size.group(2)) if size else None,
                    "fps": rates.get("fps") or rates.get("tbr"),
                    "pixel_format": fields[1].split("(")[0].strip() if len(fields) > 1 else None,
                }
            elif kind == "Audio" and out["audio"] is None:
                rate = next((int(f.split()[0]) for f in fields if f.endswith(" Hz")), None)
                out["audio"] = {"codec": codec, "rate": rate, "channels": _channels(fields)}
            elif kind == "Subtitle":
                out["subs"].append(SubtitleStream(len(out["subs"]), codec, lang if lang != "und" else None))
        elif current is not None and (m := _ROTATION.search(line)):
            if round(abs(float(m.group(1)))) % 180 == 90:
                current["width"], current["height"] = current["height"], current["width"]
    return out


def _unreadable(path: Path, stderr: str) -> InputError:
    return InputError(
        f"Could not read '{path.name}': it is not a video or audio file that ffmpeg understands, "
        f"or it is damaged ({summarize_stderr(stderr, max_lines=1)})."
    )


def probe(path: str | Path) -> MediaInfo:
    """Describe a media file; InputError for missing, empty, corrupt or non-media files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"File not found: '{path.name}'.")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"The file '{path.name}' is empty (0 bytes).")
    if _is_still_image(path):
        raise InputError(f"'{path.name}' is a still image; upload a video or audio clip.")
    header = read_header(path)
    parsed = _parse_header(header)
    if parsed["container"] is None:
        raise _unreadable(path, header)
    video, audio = parsed["video"], parsed["audio"]
    if video is None and audio is None:
        raise InputError(f"'{path.name}' has no video or audio stream.")
    duration = parsed["duration"]
    if duration is None:
        duration = measure_duration(path)
    return MediaInfo(
        path=path,
        size_bytes=size,
        duration=float(duration or 0.0),
        has_video=video is not None,
        has_audio=audio is not None,
        width=video and video["width"],
        height=video and video["height"],
        fps=video and video["fps"],
        video_codec=video and video["codec"],
        audio_codec=audio and audio["codec"],
        audio_rate=audio and audio["rate"],
        audio_channels=audio and audio["channels"],
        pixel_format=video and video["pixel_format"],
        subtitle_streams=parsed["subs"],
        container=parsed["container"],
    )


# ---------------------------------------------------------------------------------------------
# validate_upload
# ---------------------------------------------------------------------------------------------


def _megabytes(mb: float) -> str:
    return f"{mb:,.0f} MB" if mb >= 10 else f"{mb:.2g} MB"


def _minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s" if m else f"{s} s"


def _is_still_image(path: Path) -> bool:
    """A picture file (by its first bytes, whatever its name), rather than a moving video."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return head.startswith(_IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def validate_upload(path: str | Path | None, limits: Limits, *, verb: str = "use", needs_video: bool = True,
                    max_seconds: float | None = None, task: str | None = None) -> MediaInfo:
    """The one check of an uploaded clip, for every tab: refuse files over the size limit (checked
    first, so a huge file is never handed to ffmpeg), then anything that is not media, then
    (``needs_video``) a file without video, then clips longer than ``max_seconds`` (default: the
    video limit). Every refusal is an ``InputError`` written for the person who uploaded it.

    ``verb``: what the tab does with the clip, for the empty-upload message ("classify");
    ``task``: the tab's name for its own length limit ("scene classification").
    """
    if not path:
        raise InputError(f"Please upload a video clip (or pick an example) to {verb}.")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"File not found: '{path.name}'. Upload it again.")
    size_mb = path.stat().st_size / 1e6
    if size_mb > limits.max_upload_mb:
        raise InputError(
            f"The file is {_megabytes(size_mb)}; the upload limit is {_megabytes(limits.max_upload_mb)}."
        )
    info = probe(path)
    if needs_video and not info.has_video:
        raise InputError(f"'{path.name}' has no video stream (it looks like an audio-only file).")
    limit = limits.max_video_seconds if max_seconds is None else max_seconds
    if info.duration > limit:
        allowed = f"{task} takes clips of up to {limit:g} s" if task else f"the limit is {limit / 60:g} minutes"
        raise InputError(f"This {'clip' if task else 'video'} is {_minutes(info.duration)} long; {allowed}. "
                         "Trim it and upload again.")
    return info


# ---------------------------------------------------------------------------------------------
# frames and clips
# ---------------------------------------------------------------------------------------------


def _fit_shorter_side(width: int, height: int, size: int | None) -> tuple[int, int]:
    """Output size whose shorter side is ``size`` (up- or down-scaled), keeping aspect."""
    if size is None:
        return width, height
    scale = size / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def read_frames(
    path: str | Path, fps: float, size: int | None = None, *, max_frames: int | None = None,
    info: MediaInfo | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames sampled at ``fps`` as an (N, H, W, 3) uint8 RGB array, and their times in seconds.

    ``size`` sets the *shorter* side of the output (aspect kept, so a 16:9 video at size=224
    gives 398x224); None keeps the displayed size. ``max_frames`` bounds memory on long videos.
    ``info``: the file's ``probe``, when the caller already has it (saves one ffmpeg run).
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    info = info or probe(path)
    if not info.has_video or not info.width or not info.height:
        raise InputError(f"'{info.path.name}' has no video stream to read frames from.")
    width, height = _fit_shorter_side(info.width, info.height, size)
    # An explicit output size makes the byte count per frame known, whatever the source.
    args = [*input_args(info.path), "-map", "0:V:0",
            "-vf", f"fps={fps},scale={width}:{height}:flags=area",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-loglevel", "error"]
    if max_frames is not None:
        args += ["-frames:v", str(int(max_frames))]
    frame_bytes = width * height * 3
    expected = info.duration if max_frames is None else min(info.duration, max_frames / fps)
    raw = run_ffmpeg([*args, "-"], max_output=output_bound(expected or None, fps * frame_bytes))
    n = len(raw) // frame_bytes
    if n == 0:
        raise InputError(f"No frames could be decoded from '{info.path.name}'.")
    check_decoded_length(info, n / fps, expected, "video")
    frames = np.frombuffer(raw, np.uint8, count=n * frame_bytes).reshape(n, height, width, 3)
    return frames.copy(), np.arange(n, dtype=np.float64) / fps


def output_bound(seconds: float | None, bytes_per_second: float) -> int:
    """Most bytes a decode of ``seconds`` may write (generous: headers can be a little off)."""
    if not seconds:
        return DEFAULT_MAX_OUTPUT
    return int((1.5 * seconds + 5.0) * bytes_per_second)


def check_decoded_length(info: MediaInfo, decoded_seconds: float, wanted_seconds: float, what: str) -> None:
    """Refuse a stream that ends well before its container says it does (a truncated upload):
    answering from the part that survived would look right and be wrong."""
    if info.container == "mp3":
        return  # an MP3's duration is estimated from its bitrate
    if decoded_seconds < _MIN_DECODED_SHARE * wanted_seconds - 1.0:
        raise InputError(
            f"'{info.path.name}' is damaged: it announces {wanted_seconds:.1f} s of {what} but only "
            f"{decoded_seconds:.1f} s could be decoded (the file may be cut short). Upload the complete file."
        )


# Streams every current browser plays as they are, by output container: (video codecs, pixel
# formats, audio codecs; None = no audio track). Anything else is re-encoded to H.264/AAC.
_PLAYABLE = {
    ".mp4": ({"h264"}, {"yuv420p", "yuvj420p"}, {"aac", "mp3", None}),
    ".webm": ({"vp8", "vp9", "av1"}, {"yuv420p"}, {"opus", "vorbis", None}),
}


def copy_container(info: MediaInfo, max_height: int) -> str | None:
    """The container (".mp4" or ".webm") a clip of this file can be cut into by stream copy, or None.

    Copying takes milliseconds where a libx264 re-encode takes about a second; it needs streams a
    browser plays as they are and a height that needs no scaling. One audio track at most two channels.
    """
    if not info.has_video or (info.height or max_height + 1) > max_height:
        return None
    if info.has_audio and (info.audio_channels or 2) > 2:
        return None
    audio = info.audio_codec if info.has_audio else None
    for suffix, (video_codecs, pixel_formats, audio_codecs) in _PLAYABLE.items():
        if info.video_codec in video_codecs and info.pixel_format in pixel_formats and audio in audio_codecs:
            return suffix
    return None


def trim_clip(
    path: str | Path, start: float, end: float, out_path: str | Path, max_height: int = 480,
    info: MediaInfo | None = None,
) -> Path:
    """Cut [start, end] into a browser-playable clip; returns its path (the suffix may change).

    The span is clamped into the file's duration and widened to at least half a second. A file
    whose streams browsers already play is cut by stream copy (``copy_container``) into MP4 or WebM:
    the clip then starts at the keyframe before ``start``, and an edit list tells players to begin
    at ``start``. Anything else is re-encoded to H.264 yuv420p + AAC MP4 (frame-accurate).
    Both are faststart MP4s or WebMs, so playback starts while downloading.
    ``info``: the file's ``probe``, when the caller already has it.
    """
    info = info or probe(path)
    if not info.has_video:
        raise InputError(f"'{info.path.name}' has no video stream to cut a clip from.")
    duration = info.duration or max(end, start)
    start = min(max(start, 0.0), duration)
    end = min(max(end, start), duration)
    if end - start < _MIN_CLIP_SECONDS:
        end = min(duration, start + _MIN_CLIP_SECONDS)
        start = max(0.0, end - _MIN_CLIP_SECONDS)
    copy_as = copy_container(info, max_height)
    out_path = Path(out_path).with_suffix(copy_as or ".mp4")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    args = ["-ss", f"{start:.3f}", *input_args(info.path), "-t", f"{end - start:.3f}", "-map", "0:V:0"]
    if info.has_audio:
        args += ["-map", "0:a:0"]
    if copy_as:
        args += ["-c", "copy"]
    else:
        height = min(max_height, info.height or max_height)
        args += ["-vf", f"scale=-2:{height - height % 2}:flags=bicubic",  # even sizes for yuv420p
                 "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
        if info.has_audio:
            args += ["-c:a", "aac", "-b:a", "128k"] + (["-ac", "2"] if (info.audio_channels or 2) > 2 else [])
    args += ["-sn", "-dn", "-map_metadata", "-1"] + (["-movflags", "+faststart"] if out_path.suffix == ".mp4" else [])
    args += ["-loglevel", "error", "-y", f"file:{out_path.resolve()}"]
    run_ffmpeg(args)
    return out_path
