"""The shared result cache (playground/results.py): a hit is the same values a fresh run gives."""
import numpy as np
import pytest

from playground import registry, results
from playground.actions import gan
from tests.conftest import SHIPPED

TINY_MODELS = {"gan-fashion": SHIPPED}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path / "results"))
    return tmp_path / "results"


def counted(values):
    calls = []

    @results.cached("test.counted")
    def fn(*args, **kwargs):
        calls.append(args)
        return values
    return fn, calls


def test_values_come_back_with_their_types_and_dtypes(cache):
    value = (np.arange(6, dtype=np.uint8).reshape(2, 3), {"images": np.ones((2, 2), np.float32), "labels": [1, 2]},
             "text", 0.5, None, np.float32(1.25), [True, (1, "a")])
    fn, calls = counted(value)
    fresh, hit = fn("gan-fashion", 1), fn("gan-fashion", 1)
    assert len(calls) == 1
    assert type(hit) is tuple and hit[0].dtype == np.uint8 and np.array_equal(hit[0], value[0])
    assert hit[1]["images"].dtype == np.float32 and hit[1]["labels"] == [1, 2]
    assert hit[2:5] == ("text", 0.5, None)
    assert isinstance(hit[5], np.float32) and hit[5] == np.float32(1.25) and hit[6] == [True, (1, "a")]
    assert fresh is value


def test_another_setting_or_other_weights_is_another_computation(cache, tiny_registry):
    fn, calls = counted(np.zeros(3))
    fn("gan-fashion", 1)
    fn("gan-fashion", 2)
    fn("gan-fashion", 1, side=3)
    assert len(calls) == 3
    weights = registry.default().folder("gan-fashion") / "model.safetensors"
    original = weights.read_bytes()
    try:
        weights.write_bytes(original + b"\0")  # the weights changed: the old result must not answer
        fn("gan-fashion", 1)
        assert len(calls) == 4
        fn("gan-fashion", 1)
        assert len(calls) == 4
    finally:
        weights.write_bytes(original)


def test_uncacheable_values_and_arguments_are_computed_each_time(cache):
    fn, calls = counted(object())
    fn(1)
    fn(1)
    fn2, calls2 = counted(np.zeros(2))
    fn2(object())
    fn2(object())
    fn2("x" * 10_000)
    fn2("x" * 10_000)
    assert len(calls) == 2 and len(calls2) == 4
    assert not list(cache.glob("*.npz")) if cache.exists() else True


def test_streamed_views_are_cached_by_their_last_value(cache):
    calls = []

    @results.cached("test.stream")
    def stream(n):
        calls.append(n)
        for i in range(n):
            yield np.full(2, i)
    assert [int(v[0]) for v in stream(3)] == [0, 1, 2]
    assert [int(v[0]) for v in stream(3)] == [2]
    assert len(calls) == 1
    stopped = stream(4)
    next(stopped)
    stopped.close()  # stopped halfway: nothing is stored
    assert [int(v[0]) for v in stream(4)] == [0, 1, 2, 3]


def test_the_folder_keeps_the_most_recently_used_within_its_bound(cache, monkeypatch):
    fn, calls = counted(np.zeros(100_000, np.uint8))
    monkeypatch.setattr(results, "MAX_BYTES", 250_000)
    for seed in range(4):
        fn(seed)
    assert len(list(cache.glob("*.npz"))) == 2
    fn(3)
    fn(2)
    assert len(calls) == 4  # the two most recent answered from disk
    fn(0)
    assert len(calls) == 5


def test_a_cached_gan_grid_is_the_same_pixels_a_fresh_run_gives(cache, tiny_registry):
    first = gan.generate("gan-fashion", 3, 2, 0.7)
    hit = gan.generate("gan-fashion", 3, 2, 0.7)
    fresh = gan.generate.__wrapped__("gan-fashion", 3, 2, 0.7)
    assert results.stats["hits"] >= 1
    for a in (first, hit):
        assert np.array_equal(a[0], fresh[0]) and a[0].dtype == fresh[0].dtype
        assert np.array_equal(a[1]["images"], fresh[1]["images"]) and a[1]["labels"] == fresh[1]["labels"]


def test_a_file_the_action_wrote_comes_back_as_a_new_file_with_the_same_bytes(cache):
    import tempfile
    from pathlib import Path
    written = []

    @results.cached("test.file")
    def animate(seed):
        path = Path(tempfile.mkdtemp(prefix="test-")) / f"walk-{seed}.gif"
        path.write_bytes(bytes(range(256)) * 3)
        written.append(path)
        return "done", str(path)
    _, first = animate(1)
    written[0].unlink()  # Gradio's cache and the temp folder are cleaned; the result must not point at nothing
    text, again = animate(1)
    assert len(written) == 1 and text == "done"
    assert again != first and Path(again).name == "walk-1.gif" and Path(again).read_bytes() == bytes(range(256)) * 3
