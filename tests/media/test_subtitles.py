from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from mmdemo.config import REPO_ROOT

from mmdemo.errors import InputError
from mmdemo.media.subtitles import (
    Caption,
    clean_captions,
    extract_embedded,
    load_subtitles,
    parse_medvidqa,
    parse_srt,
    parse_vtt,
)

MEDVIDQA_DEV = REPO_ROOT.parent / "shared" / "data" / "medvidqa" / "subtitles" / "dev"  # shared/ sits beside the repo

SRT = """1
00:00:01,000 --> 00:00:02,500
Hello <i>there</i>,
<font color="#ffff00">doctor</font>

2
00:00:03,000 --> 00:00:04,000 X1:100 X2:500 Y1:10 Y2:50
{\\an8}Top &amp; centre
3
01:02:03,450 --> 01:02:04,5
Missing blank line before the counter above
"""

VTT = """WEBVTT - a title
Kind: captions
Language: en

STYLE
::cue(.yellow) { color: yellow }

NOTE a comment that
spans two lines

intro
00:01.000 --> 00:02.000 align:start position:10% line:0
<v Dr. Lee>Press <c.yellow>firmly</c></v>

00:00:02.500 --> 00:00:03.000
&lt;tap&gt; <b>twice</b>&nbsp;now
"""

YOUTUBE_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.030 --> 00:00:02.720 align:start position:0%
 
place<00:00:00.480><c> the</c><00:00:00.960><c> heel</c><00:00:01.200><c> of</c><00:00:01.600><c> your</c><00:00:02.000><c> hand</c>

00:00:02.720 --> 00:00:02.730 align:start position:0%
place the heel of your hand
 

00:00:02.730 --> 00:00:05.120 align:start position:0%
place the heel of your hand
on<00:00:03.000><c> the</c><00:00:03.400><c> chest</c>

00:00:05.120 --> 00:00:05.130 align:start position:0%
on the chest
 

00:00:05.130 --> 00:00:07.000 align:start position:0%
on the chest
and push hard
"""

MEDVIDQA = [  # the first rows of dev/M6WV95X0fRk.json: each caption overlaps the next
    {"start": 2.96, "duration": 3.6, "text": "to care for your skin"},
    {"start": 4.24, "duration": 3.2, "text": "during radiation therapy make sure to"},
    {"start": 6.56, "duration": 4.159, "text": "wash your skin"},
]


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- parsers ----------------------------------------------------------------------------------


def test_parse_srt_strips_markup_and_tolerates_sloppy_files():
    assert parse_srt(SRT) == [
        Caption(1.0, 2.5, "Hello there,\ndoctor"),
        Caption(3.0, 4.0, "Top & centre"),
        Caption(3723.45, 3724.5, "Missing blank line before the counter above"),
    ]


def test_parse_srt_crlf_and_dot_milliseconds():
    text = "1\r\n00:00:00.250 --> 00:00:01.000\r\nWindows line ends\r\n\r\n"
    assert parse_srt(text) == [Caption(0.25, 1.0, "Windows line ends")]


def test_parse_vtt_skips_blocks_and_settings():
    assert parse_vtt(VTT) == [
        Caption(1.0, 2.0, "Press firmly"),
        Caption(2.5, 3.0, "<tap> twice now"),
    ]


def test_parse_vtt_keeps_youtube_lines_for_cleaning():
    cues = parse_vtt(YOUTUBE_VTT)
    assert [c.text for c in cues] == [
        "place the heel of your hand",
        "place the heel of your hand",
        "place the heel of your hand\non the chest",
        "on the chest",
        "on the chest\nand push hard",
    ]


def test_parse_vtt_cue_without_text_is_dropped():
    assert parse_vtt("WEBVTT\n\n00:01.000 --> 00:02.000\n<c></c>\n\n00:03.000 --> 00:04.000\nok\n") == [
        Caption(3.0, 4.0, "ok")
    ]


def test_parse_medvidqa_list_json_and_end_form():
    expected = [Caption(2.96, 6.56, "to care for your skin"),
                Caption(4.24, 7.44, "during radiation therapy make sure to"),
                Caption(6.56, 10.719, "wash your skin")]
    assert parse_medvidqa(MEDVIDQA) == expected
    assert parse_medvidqa(json.dumps(MEDVIDQA)) == expected
    assert parse_medvidqa([{"start": 1, "end": 2.5, "text": "a\nb"}]) == [Caption(1.0, 2.5, "a\nb")]


@pytest.mark.parametrize(
    "data, message",
    [
        ("[{", "not valid JSON"),
        ('{"start": 1}', "must be a list"),
        ([{"start": 1, "text": "no duration"}], "entry 0 needs numeric"),
        ([{"start": "soon", "duration": 1, "text": "x"}], "entry 0 needs numeric"),
        (["just a string"], "entry 0 needs numeric"),
    ],
)
def test_parse_medvidqa_rejects_bad_json(data, message):
    with pytest.raises(InputError, match=message):
        parse_medvidqa(data)


# --- clean_captions ---------------------------------------------------------------------------


def test_clean_captions_clips_overlapping_windows():
    assert clean_captions(parse_medvidqa(MEDVIDQA)) == [
        Caption(2.96, 4.24, "to care for your skin"),
        Caption(4.24, 6.56, "during radiation therapy make sure to"),
        Caption(6.56, 10.719, "wash your skin"),
    ]


def test_clean_captions_merges_youtube_rolling_captions():
    assert clean_captions(parse_vtt(YOUTUBE_VTT)) == [
        Caption(0.03, 2.73, "place the heel of your hand"),
        Caption(2.73, 5.13, "on the chest"),
        Caption(5.13, 7.0, "and push hard"),
    ]


def test_clean_captions_sorts_strips_and_drops_empty():
    captions = [
        Caption(5.0, 6.0, "<i>second</i>"),
        Caption(1.0, 2.0, "  first \n line "),
        Caption(3.0, 4.0, "<c> </c>"),
        Caption(7.0, 6.5, "end before start"),
    ]
    assert clean_captions(captions) == [
        Caption(1.0, 2.0, "first line"),
        Caption(5.0, 6.0, "second"),
        Caption(7.0, 7.0, "end before start"),
    ]


def test_clean_captions_joins_cues_that_start_together():
    captions = [Caption(1.0, 2.0, "Nurse: ready?"), Caption(1.0, 3.0, "Doctor: yes")]
    assert clean_captions(captions) == [Caption(1.0, 3.0, "Nurse: ready? Doctor: yes")]


def test_clean_captions_merges_word_by_word_growth():
    captions = [Caption(1.0, 2.0, "what"), Caption(2.0, 3.0, "what do you"), Caption(3.0, 4.0, "do next")]
    assert clean_captions(captions) == [Caption(1.0, 3.0, "what do you"), Caption(3.0, 4.0, "do next")]


def test_clean_captions_keeps_repeats_after_a_pause():
    captions = [Caption(1.0, 2.0, "Breathe in"), Caption(5.0, 6.0, "Breathe in")]
    assert clean_captions(captions) == captions


def test_clean_captions_real_medvidqa_is_disjoint_and_stable():
    files = sorted(MEDVIDQA_DEV.glob("*.json"))
    if not files:
        pytest.skip("MedVidQA subtitles not available")
    for f in files:
        cleaned = clean_captions(parse_medvidqa(f.read_text()))
        assert cleaned, f
        assert all(c.start <= c.end for c in cleaned)
        assert all(a.end <= b.start for a, b in zip(cleaned, cleaned[1:]))
        assert clean_captions(cleaned) == cleaned


# --- load_subtitles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, first",
    [
        ("a.srt", SRT, Caption(1.0, 2.5, "Hello there, doctor")),
        ("a.vtt", VTT, Caption(1.0, 2.0, "Press firmly")),
        ("a.json", json.dumps(MEDVIDQA), Caption(2.96, 4.24, "to care for your skin")),
        ("vtt_named.srt", VTT, Caption(1.0, 2.0, "Press firmly")),  # content wins over extension
        ("captions.txt", SRT, Caption(1.0, 2.5, "Hello there, doctor")),
        ("no_header.vtt", "00:01.000 --> 00:02.000\nHi\n", Caption(1.0, 2.0, "Hi")),
    ],
)
def test_load_subtitles_dispatches_by_content(tmp_path, name, text, first):
    captions = load_subtitles(write(tmp_path, name, text))
    assert captions[0] == first


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + SRT.encode("utf-8"),
        codecs.BOM_UTF16_LE + SRT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SRT.encode("utf-16-be"),
    ],
    ids=["utf8-bom", "utf16le-bom", "utf16be-bom"],
)
def test_load_subtitles_reads_byte_order_marks(tmp_path, data):
    assert load_subtitles(write(tmp_path, "bom.srt", data))[0] == Caption(1.0, 2.5, "Hello there, doctor")


def test_load_subtitles_non_ascii_utf8(tmp_path):
    path = write(tmp_path, "fr.srt", "1\n00:00:01,000 --> 00:00:02,000\nÉvitez l’effort\n")
    assert load_subtitles(path) == [Caption(1.0, 2.0, "Évitez l’effort")]


@pytest.mark.parametrize(
    "data, message",
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nÉvitez\n".encode("latin-1"),
         r"Subtitle file is not UTF-8 text \(byte 0xc9 on line 3\)\. Save it as UTF-8"),
        (b"\x00\x00\x00\x18ftypisom", "not UTF-8 text"),
        (b"", "is empty"),
        (b"  \n\n \n", "is empty"),
        (b"just some words\nwithout timings\n", "No captions found in 'x.srt': expected SRT, WebVTT"),
        (b"WEBVTT\n\nNOTE nothing here\n", "No captions found"),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\n", "No captions found"),
        (b"[]", "No captions found"),
        (b"[{", "not valid JSON"),
    ],
    ids=["latin1", "binary", "empty", "blank", "no-cues", "vtt-no-cues", "cue-no-text", "json-empty",
         "json-broken"],
)
def test_load_subtitles_rejects_bad_files(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        load_subtitles(write(tmp_path, "x.srt", data))


def test_load_subtitles_size_limit(tmp_path):
    path = write(tmp_path, "big.srt", SRT * 400)  # ~60 kB
    assert load_subtitles(path, max_mb=1.0)
    with pytest.raises(InputError, match=r"Subtitle file is 0.1 MB; the limit is 0.01 MB"):
        load_subtitles(path, max_mb=0.01)


def test_load_subtitles_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_subtitles(tmp_path / "gone.srt")


# --- extract_embedded -------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["mp4_with_subs", "mkv_with_subs"])
def test_extract_embedded(request, fixture):
    assert extract_embedded(request.getfixturevalue(fixture)) == [
        Caption(0.5, 1.5, "Hello world"),
        Caption(1.6, 2.5, "Second line"),
    ]


def test_extract_embedded_without_subtitle_stream(mp4):
    with pytest.raises(InputError, match="has no embedded subtitle track"):
        extract_embedded(mp4)


def test_extract_embedded_stream_out_of_range(mkv_with_subs):
    with pytest.raises(InputError, match="has 1 subtitle track"):
        extract_embedded(mkv_with_subs, stream=1)


def test_srt_and_vtt_writers_round_trip():
    from mmdemo.media.subtitles import to_srt, to_vtt

    captions = [Caption(0.0, 1.5, "Hello there"), Caption(61.25, 62.0, "two\nlines"), Caption(3723.004, 3724.5, "a --> b")]
    srt, vtt = to_srt(captions), to_vtt(captions)
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,500\nHello there\n\n2\n00:01:01,250 --> 00:01:02,000\n")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there\n")
    expected = [captions[0], captions[1], Caption(3723.004, 3724.5, "a -> b")]  # an arrow would fake a timing line
    assert parse_srt(srt) == expected and parse_vtt(vtt) == expected


def test_rows_a_person_edited_become_captions():
    from mmdemo.media.subtitles import parse_rows

    rows = [[0, 1.5, " Hello  there "], ["2", "3.25", "again"], [4, 5, ""], [6, 7, None]]
    assert parse_rows(rows) == [Caption(0.0, 1.5, "Hello there"), Caption(2.0, 3.25, "again")]
    with pytest.raises(InputError, match="row 1: start and end must be seconds"):
        parse_rows([["soon", 2, "text"]])
    with pytest.raises(InputError, match="row 2: the start"):
        parse_rows([[0, 1, "ok"], [5, 2, "backwards"]])
