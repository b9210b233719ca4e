"""Synthetic street frames with pixel labels, written in the Cityscapes layout.

Each frame is a street seen from a car, drawn in perspective from a random horizon and vanishing
point: sky, facades with windows (sometimes a low wall), road with lane marks, sidewalks (sometimes
a grass verge), then, far to near, trees, poles carrying traffic signs or lights, people on the
sidewalks, cars, buses and trucks on the road, now and then a fence and the ego car's bonnet.
Every surface has its own noise texture and its colours vary per city, per frame and per object;
several classes share colours (grey road, sidewalk, poles and walls), so a model has to learn
shape and context, not a colour lookup.

Cities are styles: each has its own facade palette, paving, sky and traffic density. The train
and val splits use Cityscapes' own train and val city names, so they never share a city and
val measures what carries over to an unseen one. The same command writes the same files::

    python -m training.data.synthetic_streets --out DIR [--train 400] [--val 60] [--seed 0]

writes ``DIR/leftImg8bit/<split>/<city>/<city>_000000_<frame>_leftImg8bit.png`` and the
matching ``DIR/gtFine/<split>/<city>/..._gtFine_labelIds.png`` (label ids, as Cityscapes ships
them; ``mmdemo.data.cityscapes`` maps them to train ids). Ego-vehicle pixels carry label id 1, which
the benchmark ignores.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmdemo.data.cityscapes import IMAGE_SUFFIX, LABEL_SUFFIX, TRAIN_LABELS

ID = {name: label_id for name, label_id, _ in TRAIN_LABELS}  # class name -> Cityscapes label id
EGO_VEHICLE = 1  # cityscapesScripts' 'ego vehicle': label id 1, train id 255 (ignored)
# Cityscapes' own city names (train and val), so that the two splits never share a city.
CITIES = {
    "train": ("aachen", "bochum", "bremen", "cologne", "darmstadt", "dusseldorf", "erfurt", "hamburg", "hanover",
              "jena", "krefeld", "monchengladbach", "strasbourg", "stuttgart", "tubingen", "ulm", "weimar", "zurich"),
    "val": ("frankfurt", "lindau", "munster"),
}


@dataclass(frozen=True)
class StreetConfig:
    height: int = 256  # a quarter of Cityscapes' 1024 x 2048 frames
    width: int = 512


@dataclass(frozen=True)
class CityStyle:
    """What one city's frames share."""

    facades: np.ndarray  # (4, 3) facade colours
    paving: np.ndarray  # (3,) sidewalk colour
    asphalt: float  # road grey level
    overcast: float  # chance of a grey sky
    trees: float  # mean trees per side
    cars: float  # mean cars per frame
    people: float  # mean people per frame


def city_style(rng: np.random.Generator) -> CityStyle:
    tint = rng.uniform(-40, 40, 3)
    return CityStyle(
        facades=np.clip(rng.uniform(90, 210, (4, 1)) + tint + rng.normal(0, 20, (4, 3)), 30, 240),
        paving=np.clip(rng.uniform(120, 190) + rng.normal(0, 15, 3), 60, 230),
        asphalt=rng.uniform(60, 110), overcast=rng.uniform(0.1, 0.7),
        trees=rng.uniform(0.5, 3.0), cars=rng.uniform(1.0, 4.0), people=rng.uniform(0.5, 4.0),
    )


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """(h, w) float32 noise in about [-1, 1] that varies over ``cell`` pixels (bilinear on a coarse grid)."""
    from PIL import Image

    coarse = rng.uniform(-1, 1, (max(2, round(h / cell) + 1), max(2, round(w / cell) + 1))).astype(np.float32)
    return np.asarray(Image.fromarray(coarse).resize((w, h), Image.BILINEAR))


class Canvas:
    """An RGB float image and its label-id map, painted back to front."""

    def __init__(self, config: StreetConfig, rng: np.random.Generator) -> None:
        self.h, self.w, self.rng = config.height, config.width, rng
        self.image = np.zeros((self.h, self.w, 3), np.float32)
        self.labels = np.zeros((self.h, self.w), np.uint8)  # 0: Cityscapes' 'unlabeled'
        self.y, self.x = np.mgrid[0 : self.h, 0 : self.w].astype(np.float32)

    def fill(self, mask: np.ndarray, color, label: int, texture: float = 0.08, cell: float = 6.0,
             columns: slice = slice(None)) -> None:
        """Paint ``mask`` (over ``columns`` of the frame) in ``color`` with a noise texture of relative
        strength ``texture``."""
        shade = 1.0 + texture * smooth_noise(self.rng, *mask.shape, cell)
        self.image[:, columns][mask] = (np.asarray(color, np.float32)[None, None] * shade[..., None])[mask]
        self.labels[:, columns][mask] = label

    def shape(self, top: float, bottom: float, left: float, right: float, inside, color, label: int,
              texture: float = 0.1) -> None:
        """Paint, inside a box, the pixels where ``inside(y, x)`` (local coordinates, 0-1) holds."""
        t, b = max(0, int(top)), min(self.h, int(np.ceil(bottom)))
        l, r = max(0, int(left)), min(self.w, int(np.ceil(right)))
        if b <= t or r <= l:
            return
        y = (self.y[t:b, l:r] - top) / max(bottom - top, 1e-3)
        x = (self.x[t:b, l:r] - left) / max(right - left, 1e-3)
        mask = inside(y, x)
        grain = 1.0 + texture * self.rng.standard_normal(mask.shape).astype(np.float32)
        patch = self.image[t:b, l:r]
        patch[mask] = (np.asarray(color, np.float32)[None, None] * grain[..., None])[mask]
        self.labels[t:b, l:r][mask] = label


# Shapes for Canvas.shape: which pixels of a box, in the box's own 0-1 coordinates.
def box(y, x):
    return np.ones(y.shape, bool)


def ellipse(y, x):
    return (2 * y - 1) ** 2 + (2 * x - 1) ** 2 <= 1


@dataclass(frozen=True)
class Street:
    """The perspective: horizon row, vanishing column, and how fast edges fan out below the horizon."""

    horizon: float
    vanish: float
    road: tuple[float, float]  # left, right road edge: columns per row below the horizon
    walk: tuple[float, float]  # left, right outer sidewalk edge, the same way

    def depth(self, y):
        """Rows below the horizon: the scale of anything standing on row ``y``."""
        return np.maximum(y - self.horizon, 0.0)

    def edges(self, y, slopes: tuple[float, float]):
        """Left and right columns of an edge pair (road or sidewalk) on row ``y``."""
        d = self.depth(y)
        return self.vanish - slopes[0] * d, self.vanish + slopes[1] * d


def draw_background(canvas: Canvas, street: Street, style: CityStyle) -> None:
    """Sky, facades (and walls), maybe a fence, sidewalks (maybe a grass verge), road with lane marks."""
    rng, y, x, h, w = canvas.rng, canvas.y, canvas.x, canvas.h, canvas.w
    sky_top = np.array([150, 150, 155]) if rng.random() < style.overcast else np.array([70, 130, 200])
    haze = (y / street.horizon).clip(0, 1)[..., None] * rng.uniform(30, 70)  # paler toward the horizon
    canvas.image[:] = (sky_top + rng.normal(0, 12, 3) + haze) * (1 + 0.06 * smooth_noise(rng, h, w, 40))[..., None]
    canvas.labels[:] = ID["sky"]

    gap = np.abs(x - street.vanish)  # columns from the vanishing point: the farther, the nearer the facade
    for side in (-1, 1):  # facades: from the frame's edge toward the vanishing point, narrower with distance
        slope = street.walk[0 if side < 0 else 1]
        base = street.horizon + gap / slope  # the row where the facade meets the sidewalk
        near = 0.0 if side < 0 else float(w)
        while abs(street.vanish - near) > 3:
            far = near + (street.vanish - near) * rng.uniform(0.15, 0.4)
            lo, hi = min(near, far), max(near, far)
            cols = slice(int(lo), min(w, int(np.ceil(hi))))  # the facade's columns: all its work is there
            ys, xs, bases = y[:, cols], x[:, cols], base[:, cols]
            wall = rng.random() < 0.12
            top = street.horizon - gap[:, cols] / slope * (rng.uniform(0.2, 0.4) if wall else rng.uniform(1.0, 3.5))
            mask = (xs >= lo) & (xs < hi) & (ys >= top) & (ys < bases) & ((xs < street.vanish) == (side < 0))
            color = np.clip(style.facades[rng.integers(4)] + rng.normal(0, 12, 3), 20, 245)
            canvas.fill(mask, color * (0.75 if wall else 1.0), ID["wall" if wall else "building"], texture=0.1,
                        columns=cols)
            if not wall:  # windows: a grid over the facade, darker or reflecting the sky
                u = (ys - top) / np.maximum(bases - top, 1e-3)
                v = (xs - lo) / max(hi - lo, 1e-3)
                floors, bays = rng.integers(3, 8), rng.integers(2, 6)
                pane = ((u * floors) % 1 > 0.3) & ((u * floors) % 1 < 0.75) & ((v * bays) % 1 > 0.25) \
                    & ((v * bays) % 1 < 0.75) & (u < 0.8)
                glass = rng.choice([40.0, 80.0, 170.0]) + rng.normal(0, 10, 3)
                canvas.image[:, cols][mask & pane] = glass
            near = far
        if rng.random() < 0.15:  # a fence in front of this side's facades: bars and two rails
            u = (base - y) / np.maximum(0.35 * gap / slope, 1e-3)  # 0 at the ground, 1 at the fence's top
            band = (u >= 0) & (u <= 1) & (gap > 4) & ((x < street.vanish) == (side < 0))
            bars = (np.log1p(gap) * 25) % 1 < 0.3
            rails = (np.abs(u - 0.9) < 0.07) | (np.abs(u - 0.35) < 0.07)
            canvas.fill(band & (bars | rails), (110, 100, 95) + rng.normal(0, 10, 3), ID["fence"], texture=0.1)

    below = y > street.horizon
    road_l, road_r = street.edges(y, street.road)
    walk_l, walk_r = street.edges(y, street.walk)
    sidewalk = below & (x >= walk_l) & (x <= walk_r)
    canvas.fill(sidewalk, style.paving * rng.uniform(0.9, 1.1), ID["sidewalk"], texture=0.12, cell=3)
    d = street.depth(y)
    joints = (np.abs(((np.log1p(d) * 6) % 1) - 0.5) < 0.06) & sidewalk  # paving joints, closer with distance
    canvas.image[joints] *= 0.8
    if rng.random() < 0.4:  # a grass verge between road and sidewalk
        verge = rng.uniform(0.1, 0.3) * (street.walk[0] - street.road[0])
        grass = below & (((x >= road_l - verge * d) & (x < road_l)) | ((x > road_r) & (x <= road_r + verge * d)))
        canvas.fill(grass, (90, 150, 60) + rng.normal(0, 15, 3), ID["terrain"], texture=0.25, cell=2)
    road = below & (x >= road_l) & (x <= road_r)
    canvas.fill(road, np.full(3, style.asphalt) + rng.normal(0, 4, 3), ID["road"], texture=0.1, cell=2)
    lane = road & (np.abs(x - (street.vanish + rng.uniform(-0.2, 0.2) * (road_r - road_l) / 2)) < 0.012 * d + 0.5)
    dashes = (np.log1p(d) * 4) % 1 < 0.5
    canvas.image[lane & dashes] = 225  # lane marks belong to the road class, as in Cityscapes


def draw_things(canvas: Canvas, street: Street, style: CityStyle) -> None:
    """Trees, poles with signs or lights, people, cars, buses and trucks, painted far to near."""
    rng = canvas.rng

    def rows(count: int) -> np.ndarray:
        """Rows objects stand on, below the horizon; nearer rows a little more often."""
        return street.horizon + (canvas.h - street.horizon) * rng.uniform(0.08, 1.0, count) ** 0.7

    things = []  # (base row, kind, column)
    for kind, mean in (("tree", 2 * style.trees), ("pole", 2.0), ("person", style.people)):
        for base in rows(rng.poisson(mean)):
            walk_l, walk_r = street.edges(base, street.walk)
            road_l, road_r = street.edges(base, street.road)
            left = rng.random() < 0.5
            column = rng.uniform(walk_l, road_l) if left else rng.uniform(road_r, walk_r)
            things.append((base, kind, column))
    for base in rows(rng.poisson(style.cars) + (rng.random() < 0.25)):
        road_l, road_r = street.edges(base, street.road)
        kind = "car" if rng.random() < 0.85 else rng.choice(["bus", "truck"])
        things.append((base, kind, rng.uniform(road_l, road_r)))

    for base, kind, column in sorted(things):
        scale = street.depth(base)  # pixels per unit of height at this distance
        if kind == "tree":
            trunk_h, crown = 0.9 * scale, rng.uniform(0.35, 0.6) * scale
            green = np.array([60, 110, 40]) + rng.normal(0, 15, 3)
            canvas.shape(base - trunk_h, base, column - 0.03 * scale, column + 0.03 * scale, box,
                         (90, 70, 50), ID["vegetation"])  # Cityscapes counts trunks as vegetation
            canvas.shape(base - trunk_h - 1.3 * crown, base - trunk_h + 0.5 * crown, column - crown, column + crown,
                         ellipse, green, ID["vegetation"], texture=0.3)
        elif kind == "pole":
            top = base - rng.uniform(1.2, 1.8) * scale
            canvas.shape(top, base, column - 0.012 * scale - 0.5, column + 0.012 * scale + 0.5, box,
                         (130, 130, 135), ID["pole"], texture=0.05)
            size = 0.12 * scale
            if rng.random() < 0.4:  # a traffic light: a dark box, one lamp lit
                canvas.shape(top, top + 2.5 * size, column - 0.5 * size, column + 0.5 * size, box,
                             (35, 35, 35), ID["traffic light"])
                lamp = rng.integers(3)
                canvas.shape(top + (0.15 + 0.8 * lamp) * size, top + (0.75 + 0.8 * lamp) * size, column - 0.3 * size,
                             column + 0.3 * size, ellipse, [(230, 40, 30), (240, 180, 20), (40, 220, 90)][lamp],
                             ID["traffic light"])
            else:  # a traffic sign: a round or square plate
                color = [(200, 30, 30), (30, 70, 190), (230, 200, 30), (235, 235, 235)][rng.integers(4)]
                canvas.shape(top, top + size, column - 0.5 * size, column + 0.5 * size,
                             ellipse if rng.random() < 0.5 else box, color, ID["traffic sign"], texture=0.04)
        elif kind == "person":
            tall, wide = rng.uniform(0.7, 0.95) * scale, 0.22 * scale
            shirt, trousers = rng.uniform(20, 230, 3), rng.uniform(20, 120, 3)
            canvas.shape(base - 0.45 * tall, base, column - 0.4 * wide, column + 0.4 * wide,
                         lambda y, x: np.abs(x - 0.5) > 0.1, trousers, ID["person"])
            canvas.shape(base - 0.85 * tall, base - 0.43 * tall, column - 0.5 * wide, column + 0.5 * wide, box,
                         shirt, ID["person"])
            canvas.shape(base - tall, base - 0.84 * tall, column - 0.25 * wide, column + 0.25 * wide, ellipse,
                         np.array([225, 180, 150]) * rng.uniform(0.5, 1.05), ID["person"])
        else:
            draw_vehicle(canvas, kind, base, column, scale)



def draw_vehicle(canvas: Canvas, kind: str, base: float, column: float, scale: float) -> None:
    """A car, bus or truck standing on row ``base``: body, windows and wheels all carry its label."""
    rng = canvas.rng
    width = scale * {"car": rng.uniform(0.9, 1.2), "bus": 1.6, "truck": 1.5}[kind]
    height = width * {"car": rng.uniform(0.55, 0.75), "bus": 1.0, "truck": 1.05}[kind]
    left, right, top = column - width / 2, column + width / 2, base - height
    paint = rng.uniform(10, 240, 3) if kind == "car" else rng.uniform(60, 230, 3)
    label = ID[kind]
    if kind == "car":
        canvas.shape(top + 0.45 * height, base - 0.1 * height, left, right, box, paint, label, texture=0.05)
        canvas.shape(top, top + 0.47 * height, left + 0.12 * width, right - 0.12 * width,
                     lambda y, x: np.abs(x - 0.5) < 0.38 + 0.12 * y, paint, label, texture=0.05)
        canvas.shape(top + 0.08 * height, top + 0.42 * height, left + 0.2 * width, right - 0.2 * width,
                     lambda y, x: np.abs(x - 0.5) < 0.4 + 0.1 * y, (40, 50, 60), label)
    elif kind == "bus":
        canvas.shape(top, base - 0.08 * height, left, right, box, paint, label, texture=0.05)
        canvas.shape(top + 0.12 * height, top + 0.45 * height, left + 0.05 * width, right - 0.05 * width, box,
                     (45, 55, 70), label)
    else:  # truck: a cab and a taller cargo box
        canvas.shape(top + 0.3 * height, base - 0.08 * height, left, left + 0.3 * width, box, paint, label)
        canvas.shape(top, base - 0.12 * height, left + 0.32 * width, right, box, rng.uniform(150, 240, 3), label,
                     texture=0.03)
    for wheel in (0.15, 0.85):
        canvas.shape(base - 0.22 * height, base, left + (wheel - 0.1) * width, left + (wheel + 0.1) * width, ellipse,
                     (20, 20, 20), label)


def render_frame(style: CityStyle, rng: np.random.Generator, config: StreetConfig = StreetConfig()) -> tuple[np.ndarray, np.ndarray]:
    """One (H, W, 3) uint8 frame and its (H, W) uint8 Cityscapes label ids."""
    canvas = Canvas(config, rng)
    h, w = config.height, config.width
    horizon, vanish = rng.uniform(0.36, 0.5) * h, rng.uniform(0.35, 0.65) * w
    centre = vanish + rng.uniform(-0.15, 0.15) * w  # where the road meets the bottom row
    half = rng.uniform(0.4, 0.8) * w
    rows = h - horizon
    road = ((vanish - (centre - half)) / rows, ((centre + half) - vanish) / rows)
    walk = tuple(slope + rng.uniform(0.2, 0.5) * w / rows for slope in road)
    street = Street(horizon, vanish, road, walk)
    draw_background(canvas, street, style)
    draw_things(canvas, street, style)
    if rng.random() < 0.5:  # the ego car's bonnet, ignored by the benchmark
        bonnet = h * (1 - rng.uniform(0.04, 0.1)) + 0.05 * h * ((canvas.x / w - 0.5) * 2) ** 2
        canvas.fill(canvas.y >= bonnet, rng.uniform(20, 200, 3), EGO_VEHICLE, texture=0.04, cell=20)
    light = rng.uniform(0.7, 1.2) * rng.uniform(0.92, 1.08, 3)  # exposure and white balance
    image = canvas.image * light + rng.uniform(2, 6) * rng.standard_normal((h, w, 1))
    return np.clip(image, 0, 255).astype(np.uint8), canvas.labels


def frame_name(city: str, frame: int) -> str:
    return f"{city}_000000_{frame:06d}"


def write_frame(out_dir: Path, split: str, city_index: int, city: str, frame: int, seed: int,
                config: StreetConfig) -> None:
    from PIL import Image

    style = city_style(np.random.default_rng([seed, 0, 0 if split == "train" else 1, city_index]))
    image, labels = render_frame(style, np.random.default_rng([seed, 1, 0 if split == "train" else 1, city_index, frame]),
                                 config)
    name = frame_name(city, frame)
    for folder, suffix, array in (("leftImg8bit", IMAGE_SUFFIX, image), ("gtFine", LABEL_SUFFIX, labels)):
        path = out_dir / folder / split / city / f"{name}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)


def generate(out_dir: str | Path, train: int = 400, val: int = 60, seed: int = 0, train_cities: int = 8,
             config: StreetConfig = StreetConfig(), workers: int = 2) -> dict[str, int]:
    """Write ``train`` frames over the first ``train_cities`` train cities and ``val`` frames over
    the val cities (round-robin); returns the frame count of each split. The files do not depend
    on ``workers``."""
    if not 1 <= train_cities <= len(CITIES["train"]):
        raise ValueError(f"train_cities must be in 1..{len(CITIES['train'])}; got {train_cities}")
    out_dir = Path(out_dir)
    jobs = []
    for split, count, cities in (("train", train, CITIES["train"][:train_cities]), ("val", val, CITIES["val"])):
        jobs += [(split, i % len(cities), cities[i % len(cities)], i // len(cities)) for i in range(count)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda job: write_frame(out_dir, *job, seed, config), jobs))
    return {"train": train, "val": val}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write synthetic street frames with labels in the Cityscapes layout.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train", type=int, default=400, help="train frames")
    parser.add_argument("--val", type=int, default=60, help="val frames (other cities)")
    parser.add_argument("--train-cities", type=int, default=8)
    parser.add_argument("--height", type=int, default=StreetConfig.height)
    parser.add_argument("--width", type=int, default=StreetConfig.width)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="frames made at once (the files do not depend on it)")
    args = parser.parse_args(argv)
    counts = generate(args.out, args.train, args.val, args.seed, args.train_cities,
                      StreetConfig(args.height, args.width), args.workers)
    print(f"wrote {counts['train']} train and {counts['val']} val frames to {args.out}")


if __name__ == "__main__":
    main()
