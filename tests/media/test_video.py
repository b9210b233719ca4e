from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmdemo.config import Limits
from mmdemo.errors import InputError
from mmdemo.media.ffmpeg import read_header, run_ffmpeg
from mmdemo.media.video import MediaInfo, SubtitleStream, probe, read_frames, trim_clip, validate_upload


@pytest.mark.parametrize(
    "fixture, container, vcodec, acodec, rate",
    [
        ("mp4", "mov,mp4,m4a,3gp,3g2,mj2", "h264", "aac", 44100),
        ("webm", "matroska,webm", "vp9", "opus", 48000),  # opus always decodes at 48 kHz
        ("mov", "mov,mp4,m4a,3gp,3g2,mj2", "h264", "aac", 44100),
    ],
)
def test_probe_video_with_audio(request, fixture, container, vcodec, acodec, rate):
    path = request.getfixturevalue(fixture)
    info = probe(path)
    assert info.path == path and info.size_bytes == path.stat().st_size
    assert info.container == container
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert info.has_video and (info.width, info.height, info.fps) == (160, 120, 10.0)
    assert info.video_codec == vcodec
    assert (info.has_audio, info.audio_codec, info.audio_rate, info.audio_channels) == (True, acodec, rate, 1)
    assert info.subtitle_streams == []


def test_probe_video_without_audio(silent_mp4):
    info = probe(silent_mp4)
    assert info.has_video and not info.has_audio
    assert info.audio_codec is None and info.audio_rate is None and info.audio_channels is None


@pytest.mark.parametrize("fixture, codec, rate", [("m4a", "aac", 22050), ("wav", "pcm_s16le", 16000)])
def test_probe_audio_only(request, fixture, codec, rate):
    info = probe(request.getfixturevalue(fixture))
    assert not info.has_video and info.width is None and info.fps is None and info.video_codec is None
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == (codec, rate, 1)
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_probe_measures_duration_missing_from_header(webm_no_duration):
    assert "Duration: N/A" in read_header(webm_no_duration)
    assert probe(webm_no_duration).duration == pytest.approx(3.0, abs=0.05)


def test_probe_reports_displayed_size_of_rotated_video(rotated_mp4):
    info = probe(rotated_mp4)
    assert (info.width, info.height) == (120, 160)


def test_probe_lists_subtitle_streams(mp4_with_subs, mkv_with_subs):
    assert probe(mp4_with_subs).subtitle_streams == [SubtitleStream(0, "mov_text", "eng")]
    assert probe(mkv_with_subs).subtitle_streams == [SubtitleStream(0, "subrip", "fre")]


@pytest.mark.parametrize(
    "fixture, message",
    [
        ("corrupt", "Could not read 'corrupt.mp4': it is not a video or audio file"),
        ("empty", r"'empty.mp4' is empty \(0 bytes\)"),
        ("text_as_mp4", "Could not read 'notes.mp4'.*Invalid data"),
        ("srt_file", "'source.srt' has no video or audio stream"),
    ],
)
def test_probe_rejects_non_media(request, fixture, message):
    with pytest.raises(InputError, match=message):
        probe(request.getfixturevalue(fixture))


def test_probe_missing_file(tmp_path):
    with pytest.raises(InputError, match="File not found: 'nope.mp4'"):
        probe(tmp_path / "nope.mp4")


def test_validate_upload_accepts_a_video(mp4):
    assert validate_upload(mp4, Limits()).has_video


def test_validate_upload_checks_size_before_probing(corrupt):
    # The corrupt file would fail probing; the size message proves the size check ran first.
    with pytest.raises(InputError, match=r"The file is 0.0051 MB; the upload limit is 0.001 MB"):
        validate_upload(corrupt, Limits(max_upload_mb=0.001))


def test_validate_upload_duration_limit_in_minutes(mp4):
    with pytest.raises(InputError, match=r"This video is 3 s long; the limit is 0.02 minutes"):
        validate_upload(mp4, Limits(max_video_seconds=1.2))
    assert validate_upload(mp4, Limits(max_video_seconds=3.5)).duration == pytest.approx(3.0, abs=0.05)


def test_validate_upload_needs_a_video_stream(m4a):
    with pytest.raises(InputError, match="has no video stream"):
        validate_upload(m4a, Limits())


def test_validate_upload_rejects_still_image(png_as_mp4):
    with pytest.raises(InputError, match="'picture.mp4' is a still image"):
        validate_upload(png_as_mp4, Limits())


def test_validate_upload_rejects_corrupt(corrupt):
    with pytest.raises(InputError, match="not a video or audio file"):
        validate_upload(corrupt, Limits())


@pytest.mark.parametrize("fixture", ["mp4", "webm", "mov", "silent_mp4", "webm_no_duration"])
def test_read_frames_one_per_second(request, fixture):
    frames, times = read_frames(request.getfixturevalue(fixture), fps=1)
    assert frames.shape == (3, 120, 160, 3) and frames.dtype == np.uint8
    np.testing.assert_allclose(times, [0.0, 1.0, 2.0])
    assert frames.std() > 10  # a test pattern, not a blank picture
    assert not np.array_equal(frames[0], frames[1])  # testsrc2 moves


def test_read_frames_resizes_shorter_side_keeping_aspect(mp4):
    frames, times = read_frames(mp4, fps=2, size=60)
    assert frames.shape == (6, 60, 80, 3)
    np.testing.assert_allclose(times, np.arange(6) / 2)
    up, _ = read_frames(mp4, fps=1, size=240)
    assert up.shape == (3, 240, 320, 3)


def test_read_frames_max_frames_and_rotation(mp4, rotated_mp4):
    assert read_frames(mp4, fps=10, max_frames=4)[0].shape[0] == 4
    assert read_frames(rotated_mp4, fps=1)[0].shape == (3, 160, 120, 3)


def test_read_frames_needs_video(m4a):
    with pytest.raises(InputError, match="no video stream"):
        read_frames(m4a, fps=1)


@pytest.mark.parametrize("fixture, has_audio", [("webm", True), ("silent_mp4", False)])
def test_trim_clip_is_browser_playable(request, tmp_path, fixture, has_audio):
    """A source that must be scaled down is re-encoded to H.264/AAC MP4."""
    out = trim_clip(request.getfixturevalue(fixture), 0.5, 2.0, tmp_path / "clips" / "clip.mp4", max_height=60)
    info = probe(out)
    assert info.video_codec == "h264" and info.has_audio == has_audio
    assert info.audio_codec == ("aac" if has_audio else None)
    assert info.duration == pytest.approx(1.5, abs=0.1)
    header = read_header(out)
    assert "yuv420p" in header and "major_brand     : isom" in header
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while downloading


def test_trim_clip_clamps_into_duration_and_caps_height(mp4, tmp_path):
    out = trim_clip(mp4, -5.0, 99.0, tmp_path / "all.mp4", max_height=60)
    info = probe(out)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert (info.width, info.height) == (80, 60)
    tail = probe(trim_clip(mp4, 10.0, 12.0, tmp_path / "tail.mp4"))  # past the end: last 0.5 s
    assert tail.duration == pytest.approx(0.5, abs=0.1)


def test_a_given_probe_is_used_instead_of_probing_again(mp4, monkeypatch):
    import mmdemo.media.audio as audio_module
    import mmdemo.media.video as video_module

    info = video_module.probe(mp4)

    def no_probe(path):
        raise AssertionError("probed again")

    monkeypatch.setattr(video_module, "probe", no_probe)
    monkeypatch.setattr(audio_module, "probe", no_probe)
    frames, _ = video_module.read_frames(mp4, fps=1, info=info)
    waveform = audio_module.load_audio(mp4, 16000, info=info)
    assert len(frames) == 3 and len(waveform) == 3 * 16000


def _info(video="h264", pixels="yuv420p", audio="aac", height=360, channels=2) -> MediaInfo:
    return MediaInfo(Path("clip"), 1, 10.0, video is not None, audio is not None, 640, height, 25.0, video, audio,
                     44100, channels, pixel_format=pixels)


@pytest.mark.parametrize("info, container", [
    (_info(), ".mp4"),                                      # H.264/AAC: copied as it is
    (_info(audio=None), ".mp4"),                            # silent H.264
    (_info(video="vp9", audio="opus"), ".webm"),            # VP9/Opus: copied into WebM
    (_info(video="vp8", audio="vorbis"), ".webm"),
    (_info(pixels="yuv444p"), None),                        # H.264 4:4:4: browsers do not play it
    (_info(pixels="yuv420p10le"), None),                    # 10-bit H.264, likewise
    (_info(video="hevc"), None),                            # not playable everywhere
    (_info(video="mpeg4"), None),
    (_info(audio="pcm_s16le"), None),
    (_info(video="vp9", audio="aac"), None),                # no container for that pair here
    (_info(height=1080), None),                             # must be scaled down: re-encode
    (_info(channels=6), None),                              # 5.1 audio is downmixed: re-encode
    (_info(video=None), None),
])
def test_copy_only_what_browsers_play_as_it_is(info, container):
    from mmdemo.media.video import copy_container

    assert copy_container(info, max_height=480) == container


def test_a_playable_file_is_cut_by_stream_copy(mp4, tmp_path, monkeypatch):
    import mmdemo.media.video as video_module

    seen = []
    monkeypatch.setattr(video_module, "run_ffmpeg", lambda args, **kw: seen.append(args) or run_ffmpeg(args, **kw))
    out = trim_clip(mp4, 0.5, 2.0, tmp_path / "clip.mp4")
    assert seen[0][seen[0].index("-c") + 1] == "copy" and "libx264" not in seen[0]
    assert "-format_whitelist" in seen[0][: seen[0].index("-i")]  # the demuxer allow-list still guards the input
    info = probe(out)
    assert (info.video_codec, info.audio_codec, out.suffix) == ("h264", "aac", ".mp4")
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


def test_a_webm_with_vp9_is_cut_into_webm(webm, tmp_path):
    out = trim_clip(webm, 0.5, 2.0, tmp_path / "clip.mp4")
    info = probe(out)
    assert (out.suffix, info.video_codec, info.audio_codec) == (".webm", "vp9", "opus")


def test_validate_upload_speaks_for_each_tab(m4a, mp4):
    with pytest.raises(InputError, match=r"Please upload a video clip \(or pick an example\) to caption"):
        validate_upload(None, Limits(), verb="caption")
    assert validate_upload(m4a, Limits(), needs_video=False).has_audio  # scene classification hears audio-only files
    with pytest.raises(InputError, match="This clip is 3 s long; captioning takes clips of up to 2 s"):
        validate_upload(mp4, Limits(), max_seconds=2.0, task="captioning")
