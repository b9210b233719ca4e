"""Cityscapes reader (Cordts et al. 2016), and anything laid out like it.

Layout (what ``leftImg8bit_trainvaltest.zip`` and ``gtFine_trainvaltest.zip`` unpack to, and
what ``python -m training.data.synthetic_streets`` writes)::

    ROOT/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png     RGB frame
    ROOT/gtFine/<split>/<city>/<name>_gtFine_labelIds.png      8-bit map of Cityscapes label ids

``<name>`` is ``<city>_<sequence>_<frame>``. The label ids (0-33) are mapped to the 19 train
ids of the benchmark (``TRAIN_LABELS``); every other id becomes ``IGNORE_INDEX``, which the loss
and the metrics skip. Bad data fails loudly with an ``InputError`` that names the files, so that
training never starts on a silently shrunken set. It lives in ``mmdemo`` because
``python -m mmdemo.evaluate segmentation`` reads the splits ``python -m training segmentation``
trains on; it needs numpy and Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmdemo.errors import InputError, first_names

# The 19 classes of the Cityscapes benchmark in train-id order: (name, label id, colour), from
# cityscapesScripts' helpers/labels.py. The paper's Table 1 lists the same classes in this order.
TRAIN_LABELS = (
    ("road", 7, (128, 64, 128)),
    ("sidewalk", 8, (244, 35, 232)),
    ("building", 11, (70, 70, 70)),
    ("wall", 12, (102, 102, 156)),
    ("fence", 13, (190, 153, 153)),
    ("pole", 17, (153, 153, 153)),
    ("traffic light", 19, (250, 170, 30)),
    ("traffic sign", 20, (220, 220, 0)),
    ("vegetation", 21, (107, 142, 35)),
    ("terrain", 22, (152, 251, 152)),
    ("sky", 23, (70, 130, 180)),
    ("person", 24, (220, 20, 60)),
    ("rider", 25, (255, 0, 0)),
    ("car", 26, (0, 0, 142)),
    ("truck", 27, (0, 0, 70)),
    ("bus", 28, (0, 60, 100)),
    ("train", 31, (0, 80, 100)),
    ("motorcycle", 32, (0, 0, 230)),
    ("bicycle", 33, (119, 11, 32)),
)
TRAIN_CLASSES = tuple(name for name, _, _ in TRAIN_LABELS)
TRAIN_COLORS = tuple(color for _, _, color in TRAIN_LABELS)
IGNORE_INDEX = 255  # the train id of every other label (void, ego vehicle, parking, caravan, ...)

# label id -> train id, as a 256-entry lookup table for uint8 label maps
LABEL_TO_TRAIN = np.full(256, IGNORE_INDEX, dtype=np.uint8)
LABEL_TO_TRAIN[[label_id for _, label_id, _ in TRAIN_LABELS]] = np.arange(len(TRAIN_LABELS))

SPLITS = ("train", "val", "test")
IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"


@dataclass(frozen=True)
class CityscapesItem:
    """One annotated frame: its image, its label-id map and its city."""

    image: Path
    labels: Path
    city: str

    @property
    def name(self) -> str:
        return self.image.name[: -len(IMAGE_SUFFIX)]


def read_cityscapes(root: str | Path, split: str) -> tuple[CityscapesItem, ...]:
    """Every (image, labelIds) pair of ``split``, sorted by city and name.

    An image without its label file, or a label file without its image, is an error: a pair
    dropped in silence would change what is trained or scored.
    """
    root = Path(root)
    if split not in SPLITS:
        raise InputError(f"The Cityscapes split must be one of {', '.join(SPLITS)}; got {split!r}.")
    images_dir, labels_dir = root / "leftImg8bit" / split, root / "gtFine" / split
    for folder in (images_dir, labels_dir):
        if not folder.is_dir():
            found = sorted(p.name for p in folder.parent.iterdir() if p.is_dir()) if folder.parent.is_dir() else []
            raise InputError(f"{folder} does not exist (splits there: {', '.join(found) or 'none'}); expected the "
                             f"Cityscapes layout leftImg8bit/<split>/<city>/<name>{IMAGE_SUFFIX} beside "
                             f"gtFine/<split>/<city>/<name>{LABEL_SUFFIX}.")
    images = _by_name(images_dir, IMAGE_SUFFIX)
    labels = _by_name(labels_dir, LABEL_SUFFIX)
    if not images:
        raise InputError(f"{images_dir} holds no <city>/<name>{IMAGE_SUFFIX} images.")
    unlabelled, orphans = sorted(images.keys() - labels.keys()), sorted(labels.keys() - images.keys())
    if unlabelled:
        raise InputError(f"{len(unlabelled)} images in {images_dir} have no {LABEL_SUFFIX} file under "
                         f"{labels_dir}: {first_names(unlabelled)}")
    if orphans:
        raise InputError(f"{len(orphans)} label files in {labels_dir} have no {IMAGE_SUFFIX} image under "
                         f"{images_dir}: {first_names(orphans)}")
    return tuple(CityscapesItem(images[key], labels[key], key.split("/")[0]) for key in sorted(images))


def _by_name(folder: Path, suffix: str) -> dict[str, Path]:
    """``"<city>/<name>" -> path`` for the files ``<city>/<name><suffix>`` in ``folder``."""
    return {f"{path.parent.name}/{path.name[: -len(suffix)]}": path for path in folder.glob(f"*/*{suffix}")}


def read_image(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB (a writable copy, ready for torch)."""
    return np.array(_open(path).convert("RGB"))


def read_train_ids(path: Path) -> np.ndarray:
    """(H, W) uint8 train ids (0-18, or ``IGNORE_INDEX``) from a labelIds file."""
    image = _open(path)
    if image.mode not in ("L", "P"):
        raise InputError(f"{path} is a {image.mode} image; a labelIds file holds one 8-bit label id per pixel "
                         f"(is it a gtFine_color file?).")
    return LABEL_TO_TRAIN[np.asarray(image)]


def read_pair(item: CityscapesItem) -> tuple[np.ndarray, np.ndarray]:
    """An item's (H, W, 3) image and its (H, W) train ids, which must be the same size."""
    image, train_ids = read_image(item.image), read_train_ids(item.labels)
    if image.shape[:2] != train_ids.shape:
        raise InputError(f"{item.labels} is {train_ids.shape[1]}x{train_ids.shape[0]} but its image {item.image} "
                         f"is {image.shape[1]}x{image.shape[0]}.")
    return image, train_ids


def _open(path: Path):
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            return image
    except OSError as error:  # missing, truncated or not an image (PIL's UnidentifiedImageError too)
        raise InputError(f"{path} is not a readable image ({error}).") from None
