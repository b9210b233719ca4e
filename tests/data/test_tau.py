from pathlib import Path

import pytest

from mmdemo.data.tau import TAU_CLASSES, read_tau, setup_csv

HEADER = "filename_audio\tfilename_video\tscene_label\n"
TRAIN = [
    ("airport-lisbon-1000-40000-a", "airport"),
    ("park-lisbon-1001-40010-a", "park"),
    ("tram-helsinki-1002-40020-a", "tram"),
    ("airport-lyon-1003-40030-a", "airport"),
]
EVALUATE = [
    ("bus-milan-1100-41000-a", "bus"),
    ("park-milan-1101-41010-a", "park"),
]


def make_layout(root: Path, train=TRAIN, evaluate=EVALUATE, bare_names: bool = False) -> Path:
    """A fake TAU 2021 layout: empty media files, real-looking names and CSVs."""
    (root / "audio").mkdir(parents=True)
    (root / "video").mkdir()
    (root / "evaluation_setup").mkdir()
    for split, rows in (("train", train), ("evaluate", evaluate)):
        lines = []
        for stem, label in rows:
            (root / "audio" / f"{stem}.wav").write_bytes(b"")
            (root / "video" / f"{stem}.mp4").write_bytes(b"")
            audio, video = (f"{stem}.wav", f"{stem}.mp4") if bare_names else (f"audio/{stem}.wav", f"video/{stem}.mp4")
            lines.append(f"{audio}\t{video}\t{label}\n")
        setup_csv(root, split).write_text(HEADER + "".join(lines), encoding="utf-8")
    return root


def test_reads_items_with_one_class_list_for_both_splits(tmp_path):
    root = make_layout(tmp_path)
    train, evaluate = read_tau(root, "train"), read_tau(root, "evaluate")
    assert train.classes == evaluate.classes == ("airport", "bus", "park", "tram")  # sorted union
    first = train.items[0]
    assert first.audio == root / "audio" / "airport-lisbon-1000-40000-a.wav"
    assert first.video == root / "video" / "airport-lisbon-1000-40000-a.mp4"
    assert (first.label, first.label_index, first.clip_id) == ("airport", 0, "airport-lisbon-1000-40000-a")
    assert [item.label_index for item in train.items] == [0, 2, 3, 0]
    assert [(item.label, item.label_index) for item in evaluate.items] == [("bus", 1), ("park", 2)]


def test_bare_file_names_are_looked_up_in_their_folders(tmp_path):
    root = make_layout(tmp_path, bare_names=True)
    item = read_tau(root, "evaluate").items[0]
    assert item.audio == root / "audio" / "bus-milan-1100-41000-a.wav"
    assert item.video == root / "video" / "bus-milan-1100-41000-a.mp4"


def test_a_given_class_list_fixes_the_indices(tmp_path):
    root = make_layout(tmp_path)
    split = read_tau(root, "train", classes=TAU_CLASSES)
    assert split.classes == TAU_CLASSES
    assert [item.label_index for item in split.items] == [0, 9, 6, 0]
    with pytest.raises(ValueError, match="not in the class list.*tram"):
        read_tau(root, "train", classes=("airport", "park"))


def test_missing_files_are_listed(tmp_path):
    root = make_layout(tmp_path)
    (root / "video" / "park-lisbon-1001-40010-a.mp4").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 files listed in fold1_train.csv are missing.*video/park-lisbon-1001-40010-a.mp4"):
        read_tau(root, "train")
    read_tau(root, "evaluate")  # the other split is fine


def test_missing_csv_names_what_is_there(tmp_path):
    root = make_layout(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"fold2_train.csv does not exist.*fold1_evaluate.csv, fold1_train.csv"):
        read_tau(root, "train", fold=2)
    with pytest.raises(ValueError, match="split must be one of train, evaluate"):
        read_tau(root, "test")


def test_missing_columns_and_comma_separated_files(tmp_path):
    root = make_layout(tmp_path)
    setup_csv(root, "train").write_text("filename_audio\tscene_label\naudio/a.wav\tpark\n")
    with pytest.raises(ValueError, match="missing column.*filename_video"):
        read_tau(root, "train")
    setup_csv(root, "train").write_text("filename_audio,filename_video,scene_label\naudio/a.wav,video/a.mp4,park\n")
    with pytest.raises(ValueError, match="tab-separated"):
        read_tau(root, "train")


def test_bad_rows_are_errors(tmp_path):
    root = make_layout(tmp_path)
    csv_path = setup_csv(root, "train")
    csv_path.write_text(HEADER + "audio/airport-lisbon-1000-40000-a.wav\tvideo/airport-lisbon-1000-40000-a.mp4\t\n")
    with pytest.raises(ValueError, match="line 2: empty scene_label"):
        read_tau(root, "train")
    row = "audio/airport-lisbon-1000-40000-a.wav\tvideo/airport-lisbon-1000-40000-a.mp4\tairport\n"
    csv_path.write_text(HEADER + row + row)
    with pytest.raises(ValueError, match="1 duplicate rows: audio/airport-lisbon-1000-40000-a.wav"):
        read_tau(root, "train")
    csv_path.write_text(HEADER)
    with pytest.raises(ValueError, match="lists no clips"):
        read_tau(root, "train")
