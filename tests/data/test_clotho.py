from __future__ import annotations

import wave
from pathlib import Path

import pytest

from mmdemo.data.clotho import AudioCaptionItem, read_captions_csv, read_clotho, read_first_captions
from mmdemo.errors import InputError

HEADER = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(32000)
        handle.writeframes(b"\x00\x00" * 320)


def _dataset(
    root: Path, rows: str, audio: list[str], split: str = "development", variants: str | None = None
) -> Path:
    """Audio files (tiny real WAVs) and the captions CSV, and the variants CSV when given."""
    for name in audio:
        _wav(root / split / name)
    (root / f"clotho_captions_{split}.csv").write_text(HEADER + rows, encoding="utf-8")
    if variants is not None:
        (root / f"clotho_captions_{split}_variants.csv").write_text("file_name,caption,variant\n" + variants, encoding="utf-8")
    return root


def test_reads_items_in_order_with_quoted_commas_and_utf8(tmp_path):
    rows = (
        'rain.wav,"Rain falls, then thunder.",Rain on a roof.,Heavy rain.,Drops hit glass.,A storm\n'
        'café.wav,Cups clink in a café.,"People talk, laugh and eat.",Chatter.,Dishes.,"A busy room, full of noise"\n'
    )
    items = read_clotho(_dataset(tmp_path, rows, ["rain.wav", "café.wav"]), "development")
    assert [item.clip_id for item in items] == ["rain", "café"]
    assert items[0].captions[0] == "Rain falls, then thunder."
    assert items[1].captions == ("Cups clink in a café.", "People talk, laugh and eat.", "Chatter.", "Dishes.", "A busy room, full of noise")
    assert items[0].audio_path == tmp_path / "development" / "rain.wav"
    assert items[0].variants == {}
    assert hash(items[0]) == hash(AudioCaptionItem(items[0].audio_path, items[0].captions))


def test_finds_audio_named_without_extension_or_reencoded(tmp_path):
    rows = "bird,Birds sing.,,,,\nwind.wav,Wind blows.,,,,\nsea.mp3,Waves crash.,,,,\n"
    items = read_clotho(_dataset(tmp_path, rows, ["bird.ogg", "wind.flac", "sea.mp3"]), "development")
    assert [item.audio_path.name for item in items] == ["bird.ogg", "wind.flac", "sea.mp3"]


def test_empty_caption_cells_are_skipped(tmp_path):
    items = read_clotho(_dataset(tmp_path, "a.wav,One.,, ,Four.,\n", ["a.wav"]), "development")
    assert items[0].captions == ("One.", "Four.")


def test_attaches_variants_to_their_captions(tmp_path):
    rows = "a.wav,A dog barks.,A cat meows.,,,\nb.wav,Rain.,,,,\n"
    variants = (
        "a.wav,A dog barks.,A hound is barking.\n"
        'a.wav,A dog barks.,"Barking, from a dog."\n'
        "a.wav,A cat meows.,A kitten meows.\n"
    )
    items = read_clotho(_dataset(tmp_path, rows, ["a.wav", "b.wav"], variants=variants), "development")
    assert items[0].variants == {"A dog barks.": ("A hound is barking.", "Barking, from a dog."), "A cat meows.": ("A kitten meows.",)}
    assert items[1].variants == {}


def test_missing_captions_file_names_the_splits_that_exist(tmp_path):
    _dataset(tmp_path, "a.wav,One.,,,,\n", ["a.wav"], split="validation")
    with pytest.raises(InputError, match=r"clotho_captions_development\.csv.*splits with a captions file here: validation"):
        read_clotho(tmp_path, "development")


def test_missing_audio_reports_how_many_and_the_first_names(tmp_path):
    rows = "".join(f"clip{i}.wav,Caption {i}.,,,,\n" for i in range(8))
    _dataset(tmp_path, rows, ["clip0.wav"])
    with pytest.raises(InputError) as error:
        read_clotho(tmp_path, "development")
    message = str(error.value)
    assert "7 of 8 audio files" in message
    assert "'clip1.wav', 'clip2.wav', 'clip3.wav', 'clip4.wav', 'clip5.wav', ..." in message
    assert "clip6" not in message


def test_missing_audio_folder_is_an_error(tmp_path):
    (tmp_path / "clotho_captions_development.csv").write_text(HEADER + "a.wav,One.,,,,\n", encoding="utf-8")
    with pytest.raises(InputError, match="audio folder"):
        read_clotho(tmp_path, "development")


def test_row_without_any_caption_is_an_error(tmp_path):
    _dataset(tmp_path, "a.wav,One.,,,,\nb.wav,,, ,,\n", ["a.wav", "b.wav"])
    with pytest.raises(InputError, match=r"line 3: 'b.wav' has no caption"):
        read_clotho(tmp_path, "development")


def test_duplicate_file_names_are_an_error(tmp_path):
    _dataset(tmp_path, "a.wav,One.,,,,\nb.wav,Two.,,,,\na.wav,Three.,,,,\n", ["a.wav", "b.wav"])
    with pytest.raises(InputError, match=r"1 duplicate file_name rows: 'a.wav'"):
        read_clotho(tmp_path, "development")


@pytest.mark.parametrize(
    ("content", "pattern"),
    [("", "is empty"), ("name,text\nx,y\n", "lacks column"), ("file_name,tags\na.wav,x\n", "no caption_")],
)
def test_bad_headers_are_errors(tmp_path, content, pattern):
    _wav(tmp_path / "development" / "a.wav")
    (tmp_path / "clotho_captions_development.csv").write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=pattern):
        read_clotho(tmp_path, "development")


@pytest.mark.parametrize(
    ("variants", "pattern"),
    [
        ("c.wav,One.,Uno.\n", r"line 2: 'c.wav' is not in the captions file"),
        ("a.wav,Two.,Dos.\n", r"line 2: 'Two.' is not one of the captions of 'a.wav'"),
    ],
)
def test_variants_about_unknown_clips_or_captions_are_errors(tmp_path, variants, pattern):
    _dataset(tmp_path, "a.wav,One.,,,,\n", ["a.wav"], variants=variants)
    with pytest.raises(InputError, match=pattern):
        read_clotho(tmp_path, "development")


def test_reads_a_flat_folder(tmp_path):
    _wav(tmp_path / "x.wav")
    (tmp_path / "captions.csv").write_text(HEADER + "x.wav,A bell.,,,,\n", encoding="utf-8")
    assert read_captions_csv(tmp_path / "captions.csv", tmp_path)[0].captions == ("A bell.",)


def test_first_captions_label_a_folder_leniently(tmp_path):
    (tmp_path / "sounds.csv").write_text(HEADER + "rain.wav,rain on a roof,,,,\nwind.flac,wind howling,a gale,,,\n"
                                         "absent.wav,listed without audio,,,,\n", encoding="utf-8")
    (tmp_path / "other.csv").write_text("name,score\nrain.wav,3\n", encoding="utf-8")  # not a captions table
    captions = read_first_captions(tmp_path)
    assert captions["rain.wav"] == captions["rain"] == "rain on a roof"
    assert captions["wind"] == "wind howling" and captions["absent.wav"] == "listed without audio"
    (tmp_path / "broken.csv").write_bytes(b"file_name,caption_1\n\xff\xfe,x\n")
    with pytest.raises(InputError, match="cannot read captions from"):
        read_first_captions(tmp_path)
