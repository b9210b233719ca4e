import json

import numpy as np
import pytest

from mmdemo.errors import InputError
from mmdemo.retrieval.vector_index import FAISS_FILE, JSON_FILE, Hit, VectorIndex, VectorIndexConfig


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def random_unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return unit(np.random.default_rng(seed).standard_normal((n, dim)))


def clustered(n: int, dim: int, centres: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors scattered around random centres (cosine to their centre about 0.7), and their labels."""
    rng = np.random.default_rng(seed)
    middle = random_unit(centres, dim, seed + 1)
    labels = rng.integers(0, centres, n)
    return unit(middle[labels] + rng.standard_normal((n, dim)) / np.sqrt(dim)), labels


def ids_of(n: int) -> list[str]:
    return [f"clip{i:05d}" for i in range(n)]


def test_exact_search_equals_numpy_ranking():
    vectors, queries = random_unit(500, 16), random_unit(7, 16, seed=1)
    index = VectorIndex.build(vectors, ids_of(500), [{"row": i} for i in range(500)], VectorIndexConfig(kind="exact"))
    results = index.search(queries, 10)
    scores = queries @ vectors.T
    for q, hits in enumerate(results):
        best = np.argsort(-scores[q], kind="stable")[:10]
        assert [h.id for h in hits] == [f"clip{i:05d}" for i in best]
        assert [h.metadata["row"] for h in hits] == best.tolist()
        np.testing.assert_allclose([h.score for h in hits], scores[q, best], atol=1e-5)
    assert index.kind == "exact" and index.dim == 16 and len(index) == 500


def test_ivf_recall_on_clustered_data_is_high():
    vectors, _ = clustered(6000, 32, centres=60)
    queries, _ = clustered(40, 32, centres=60, seed=0)  # same centres (seed + 1), fresh scatter
    config = VectorIndexConfig(kind="ivf", nprobe=8)
    ivf = VectorIndex.build(vectors, ids_of(6000), None, config)
    exact = VectorIndex.build(vectors, ids_of(6000), None, VectorIndexConfig(kind="exact"))
    assert ivf.kind == "ivf" and ivf.params["codes"] == "flat"
    assert ivf.params["nlist"] == min(round(4 * np.sqrt(6000)), 6000 // 39)
    found = [{h.id for h in hits} for hits in ivf.search(queries, 10)]
    truth = [{h.id for h in hits} for hits in exact.search(queries, 10)]
    recall = np.mean([len(f & t) / 10 for f, t in zip(found, truth)])
    assert recall >= 0.9


def test_pq_codes_above_the_flat_budget_keep_neighbours_in_their_cluster():
    vectors, labels = clustered(3000, 32, centres=30)
    config = VectorIndexConfig(kind="ivf", flat_max_bytes=0, pq_m=8, pq_bits=4)
    index = VectorIndex.build(vectors, ids_of(3000), None, config)
    assert index.params["codes"] == "pq" and index.params["pq_m"] == 8
    assert index.nbytes < vectors.nbytes / 2
    hits = index.search(vectors[:20], 5)
    same = [labels[int(h.id[4:])] == labels[q] for q, row in enumerate(hits) for h in row]
    assert np.mean(same) >= 0.9


def test_pq_needs_enough_training_vectors():
    with pytest.raises(InputError, match="training vectors"):
        VectorIndex.build(random_unit(300, 16), ids_of(300), None, VectorIndexConfig(kind="ivf", flat_max_bytes=0))


def test_auto_picks_exact_up_to_the_threshold_and_ivf_above():
    config = VectorIndexConfig(kind="auto", exact_max=100)
    assert VectorIndex.build(random_unit(100, 8), ids_of(100), None, config).kind == "exact"
    assert VectorIndex.build(random_unit(101, 8), ids_of(101), None, config).kind == "ivf"


@pytest.mark.parametrize("kind", ["exact", "ivf"])
def test_save_load_round_trip(tmp_path, kind):
    vectors = random_unit(400, 12)
    metadata = [{"path": f"{i}.wav", "caption": f"sound {i}"} for i in range(400)]
    index = VectorIndex.build(vectors, ids_of(400), metadata, VectorIndexConfig(kind=kind), info={"checkpoint": "x"})
    index.save(tmp_path / "idx")
    index.save(tmp_path / "idx")  # overwriting an index swaps it whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no staging left behind
    loaded = VectorIndex.load(tmp_path / "idx")
    assert (loaded.kind, loaded.dim, len(loaded), loaded.params) == (index.kind, 12, 400, index.params)
    assert loaded.ids == index.ids and loaded.metadata == metadata and loaded.info == {"checkpoint": "x"}
    assert loaded.search(vectors[:5], 7) == index.search(vectors[:5], 7)


def test_k_larger_than_the_index_and_empty_queries():
    index = VectorIndex.build(random_unit(5, 4), ids_of(5), None, VectorIndexConfig(kind="exact"))
    hits = index.search(random_unit(1, 4, seed=3)[0], 50)  # a (D,) query: one list
    assert len(hits) == 1 and len(hits[0]) == 5 and isinstance(hits[0][0], Hit)
    assert index.search(np.zeros((0, 4), dtype=np.float32), 3) == []


def test_ivf_that_finds_fewer_than_k_returns_only_real_rows():
    vectors, _ = clustered(800, 16, centres=20)
    index = VectorIndex.build(vectors, ids_of(800), None, VectorIndexConfig(kind="ivf", nprobe=1))
    hits = index.search(vectors[:3], 800)[0]
    assert 0 < len(hits) < 800  # one cell scanned
    assert all(h.id in set(index.ids) for h in hits)


def test_bad_inputs_are_input_errors():
    index = VectorIndex.build(random_unit(10, 4), ids_of(10), None, VectorIndexConfig(kind="exact"))
    with pytest.raises(InputError, match="4-d"):
        index.search(random_unit(2, 5), 3)
    with pytest.raises(InputError, match="norm"):
        VectorIndex.build(2 * random_unit(10, 4), ids_of(10))
    with pytest.raises(InputError, match="unique"):
        VectorIndex.build(random_unit(2, 4), ["a", "a"])
    with pytest.raises(InputError, match="counts"):
        VectorIndex.build(random_unit(3, 4), ids_of(2))
    with pytest.raises(InputError, match="nothing to index"):
        VectorIndex.build(np.zeros((0, 4), dtype=np.float32), [])


@pytest.fixture
def saved(tmp_path):
    VectorIndex.build(random_unit(20, 4), ids_of(20), None, VectorIndexConfig(kind="exact")).save(tmp_path / "idx")
    return tmp_path / "idx"


def edit_header(directory, **changes):
    header = json.loads((directory / JSON_FILE).read_text())
    header.update(changes)
    (directory / JSON_FILE).write_text(json.dumps(header))


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / FAISS_FILE).unlink(), "missing"),
    (lambda d: (d / FAISS_FILE).write_bytes(b"not a faiss index at all"), "faiss"),
    (lambda d: (d / FAISS_FILE).write_bytes((d / FAISS_FILE).read_bytes()[:100]), "faiss"),
    (lambda d: (d / JSON_FILE).write_text("{not json"), "JSON"),
    (lambda d: edit_header(d, ids=ids_of(19), metadata=[{}] * 19, count=19), "holds 20"),
    (lambda d: edit_header(d, ids=ids_of(19)), "19 ids"),
    (lambda d: edit_header(d, format_version=99), "format version"),
    (lambda d: edit_header(d, metadata=None), "metadata"),
    (lambda d: edit_header(d, metadata=[1] * 20), "objects"),
    (lambda d: edit_header(d, kind="hnsw"), "unknown index kind"),
])  # fmt: skip
def test_damaged_index_is_an_input_error(saved, damage, message):
    damage(saved)
    with pytest.raises(InputError, match=message):
        VectorIndex.load(saved)


def test_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not a vector index"):
        VectorIndex.load(tmp_path / "nowhere")
