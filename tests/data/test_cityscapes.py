"""The Cityscapes reader on a tiny fake layout written here: pairing, label ids to train ids, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmdemo.data.cityscapes import (
    IGNORE_INDEX,
    LABEL_TO_TRAIN,
    TRAIN_CLASSES,
    read_cityscapes,
    read_pair,
)
from mmdemo.errors import InputError

# label ids: road 7, car 26, bicycle 33, sky 23; 0 'unlabeled', 1 'ego vehicle', 9 'parking' are not trained on
LABEL_IDS = np.array([[7, 7, 26, 33],
                      [23, 0, 1, 9]], np.uint8)
TRAIN_IDS = [[0, 0, 13, 18],
             [10, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]]


def write_pair(root: Path, split: str, city: str, frame: int, labels: np.ndarray = LABEL_IDS) -> None:
    name = f"{city}_000000_{frame:06d}"
    image = root / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png"
    label = root / "gtFine" / split / city / f"{name}_gtFine_labelIds.png"
    for path in (image, label):
        path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*labels.shape[:2], 3), 40 * frame, np.uint8)).save(image)
    Image.fromarray(labels).save(label)


@pytest.fixture
def layout(tmp_path) -> Path:
    for city, frames in (("zurich", 2), ("aachen", 1)):
        for frame in range(frames):
            write_pair(tmp_path, "train", city, frame)
    write_pair(tmp_path, "val", "lindau", 0)
    return tmp_path


def test_pairs_are_listed_by_city_and_name(layout):
    items = read_cityscapes(layout, "train")
    assert [(item.city, item.name) for item in items] == [
        ("aachen", "aachen_000000_000000"), ("zurich", "zurich_000000_000000"), ("zurich", "zurich_000000_000001")]
    assert all(item.labels.name == f"{item.name}_gtFine_labelIds.png" for item in items)
    assert [item.city for item in read_cityscapes(layout, "val")] == ["lindau"]


def test_label_ids_become_train_ids(layout):
    image, train_ids = read_pair(read_cityscapes(layout, "train")[2])
    assert image.shape == (2, 4, 3) and image.dtype == np.uint8 and (image == 40).all()
    assert train_ids.tolist() == TRAIN_IDS


def test_the_label_table_has_the_19_benchmark_classes():
    assert len(TRAIN_CLASSES) == 19 and TRAIN_CLASSES[0] == "road" and TRAIN_CLASSES[-1] == "bicycle"
    trained = np.flatnonzero(LABEL_TO_TRAIN != IGNORE_INDEX)
    assert len(trained) == 19 and sorted(LABEL_TO_TRAIN[trained]) == list(range(19))


def test_an_image_without_labels_is_named(layout):
    (layout / "gtFine/train/zurich/zurich_000000_000001_gtFine_labelIds.png").unlink()
    with pytest.raises(InputError, match=r"1 images .* have no _gtFine_labelIds.png .*zurich/zurich_000000_000001"):
        read_cityscapes(layout, "train")


def test_labels_without_an_image_are_named(layout):
    (layout / "leftImg8bit/train/aachen/aachen_000000_000000_leftImg8bit.png").unlink()
    with pytest.raises(InputError, match=r"1 label files .*aachen/aachen_000000_000000"):
        read_cityscapes(layout, "train")


def test_a_missing_split_or_folder_says_what_is_there(layout, tmp_path):
    with pytest.raises(InputError, match=r"leftImg8bit/test does not exist \(splits there: train, val\)"):
        read_cityscapes(layout, "test")
    with pytest.raises(InputError, match="must be one of train, val, test"):
        read_cityscapes(layout, "training")
    with pytest.raises(InputError, match="does not exist"):
        read_cityscapes(tmp_path / "nothing", "train")


def test_bad_files_are_input_errors(layout):
    items = read_cityscapes(layout, "train")
    items[0].labels.write_bytes(b"not a png")
    with pytest.raises(InputError, match="not a readable image"):
        read_pair(items[0])
    Image.fromarray(np.zeros((2, 4, 3), np.uint8)).save(items[1].labels)  # a colour file where labelIds belong
    with pytest.raises(InputError, match="gtFine_color"):
        read_pair(items[1])
    Image.fromarray(np.zeros((3, 4), np.uint8)).save(items[2].labels)
    with pytest.raises(InputError, match="is 4x3 but its image"):
        read_pair(items[2])
