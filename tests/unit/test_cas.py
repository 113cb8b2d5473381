"""Generated images as training data (playground/cas.py, cas_pool.py, cas_bench.py and the Compare tab's view):
the fixed classifier learns, CAS of real images is the real baseline and of noise is chance, the curves carry
their error bars and caps, the asset round-trips into the view, pools are stored and reused, and bad input gets
the app's sentences."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from playground import cards, cas, cas_bench, cas_pool, charts
from playground.actions import cas as actions
from playground.errors import InputError
from tests.conftest import TinyModel

torch.set_num_threads(1)
STEPS = 150  # enough for the small CNN to learn Fashion-MNIST's classes well above chance, in about a second
TINY_MODELS = {
    "gan-fashion": TinyModel("gan", {"latent_dim": 16, "g_width": 4, "d_width": 4, "image_size": 32, "channels": 1,
                                     "num_classes": 10, "output_size": 28, "dataset": "fashion-mnist"}),
    "vae-fashion": TinyModel("vae", {"latent_dim": 4, "width": 4, "image_size": 28, "mixtures": 2,
                                     "dataset": "fashion-mnist"}),
}


@pytest.fixture(scope="module")
def small():
    """The shipped gallery split per class: 100 training and 100 test images of each class (any machine)."""
    return cas._real(False)


@pytest.fixture
def pools(tmp_path, monkeypatch):
    monkeypatch.setenv(cas_pool.CAS_DIR_ENV, str(tmp_path / "cas"))
    return tmp_path / "cas"


def real_source(data, seed=7):
    """A "generator" that returns real training images (others than most cases pick), first k of each class."""
    images, labels = data.train

    def draw(k):
        pick = np.concatenate([np.flatnonzero(labels == c)[::-1][:k] for c in range(cas.CLASSES)])
        return images[pick], labels[pick]
    return draw


def noise_source(k):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (k * cas.CLASSES, 28, 28), dtype=np.uint8), np.arange(k * cas.CLASSES) % cas.CLASSES


def test_the_classifier_learns_real_images_well_above_chance_and_is_seeded(small):
    first = cas.case(small, 20, 0, steps=STEPS)
    assert first > 0.55, first  # chance is 0.10
    assert cas.case(small, 20, 0, steps=STEPS) == first  # one seed, one result
    assert cas.case(small, 20, 1, steps=STEPS) != first  # another seed: other images, weights and batches


def test_augmentation_flips_and_shifts_within_the_frame():
    x = torch.linspace(-1, 1, 2 * 28 * 28).reshape(2, 1, 28, 28)
    out = cas.augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    assert not torch.equal(out, x)
    again = cas.augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert all(cas.augment(x, torch.Generator().manual_seed(s)).shape == x.shape for s in range(5))


def test_cas_of_real_images_is_the_real_baseline_and_of_noise_is_chance(small):
    sources = {"real-as-generated": (real_source(small), 100), "noise": (noise_source, 100)}
    result = cas_bench.measure(sources, sizes=(), seeds=(0, 1), cas_per_class=30, data=small, steps=100,
                               log=lambda _: None)
    assert result["curves"] == []
    real, same, noise = result["cas"]
    assert [r["method"] for r in result["cas"]] == ["real", "real-as-generated", "noise"]
    assert abs(same["mean"] - real["mean"]) < 0.05 + 2 * max(real["std"], same["std"]), (real, same)
    assert real["mean"] > 0.6 and noise["mean"] < 0.2, (real, noise)


@pytest.fixture(scope="module")
def measured(small):
    """The curves at tiny settings with a "generator" named gan-fashion (real images) whose pool holds 50 per class,
    and every k it was asked for."""
    calls = []

    def counted(k):
        calls.append(k)
        return real_source(small)(k)
    result = cas_bench.measure({"gan-fashion": (counted, 50)}, sizes=(5, 20), multiples=(0, 1, 5), seeds=(0, 1),
                               cas_per_class=20, data=small, steps=30, log=lambda _: None)
    return result, calls


def test_curves_have_every_method_at_every_size_with_error_bars_and_caps(measured):
    result, calls = measured
    curves = result["curves"]
    assert [(r["method"], r["n"]) for r in curves] == [
        (m, n) for n in (5, 20) for m in ("real only", "real + classical augmentation", "real + 1x gan-fashion",
                                           "real + 5x gan-fashion")]
    skipped = [r for r in curves if "skipped" in r]
    assert [(r["method"], r["n"]) for r in skipped] == [("real + 5x gan-fashion", 20)]  # 100 per class > 50
    assert "capped at 50" in skipped[0]["skipped"]
    for r in curves:
        if "skipped" not in r:
            assert len(r["accuracies"]) == 2 and r["std"] > 0, r
            assert r["mean"] == pytest.approx(np.mean(r["accuracies"]), abs=1e-4)
    assert max(calls) <= 50 and sorted(set(calls)) == [5, 20, 25] and result["cas"][0]["n"] == 20
    assert cas.summary([0.5]) == {"accuracies": [0.5], "mean": 0.5, "std": 0.0}


def bench_result(small, measured, sha):
    return {"command": "python -m playground.bench --cas --quick", "quick": True, "seeds": [0, 1], "sizes": [5, 20],
            "multiples": [0, 1, 5], "cas_per_class": 20, "steps": 30, "batch": cas.BATCH, "recipe": cas.RECIPE,
            "augmentation": cas.AUGMENTATION, "train_set": small.train_name, "test_set": small.test_name,
            "test_images": len(small.test[0]), "pool_minutes": 15, "minutes": 0.1, **measured[0],
            "generators": {"gan-fashion": {"weights_sha256": sha, "pool_per_class": 50, "capped": True,
                                           "sampler": "its default settings", "seconds_per_image": 0.001}}}


def test_the_asset_round_trips_into_the_view_and_the_readme(small, measured, tiny_registry, tmp_path):
    from playground import registry
    sha = registry.default().weights_sha256("gan-fashion")
    path = tmp_path / "cas.json"
    path.write_text(json.dumps(bench_result(small, measured, sha)))
    result = actions.read(path)
    assert actions.weights_note(result) == {"gan-fashion": "current"}
    rows = actions.cas_rows(result)
    assert rows[0][0] == "20 real images per class" and rows[1][3] == "current" and "±" in rows[1][1]
    assert actions.curve_headers(result) == ["method", "n = 5", "n = 20"]
    table = actions.curve_rows(result)
    assert table[-1] == ["real + 5x gan-fashion", table[-1][1], "not measured"]
    cells = actions.measured_curves(result)
    assert {r["n"] for r in cells} == {5, 20} and len(cells) == 7  # 4 methods at n = 5, 3 at n = 20 (5x capped)
    low, high = actions.y_range(result)
    assert low <= 100 * min(r["mean"] - r["std"] for r in cells) - 1
    assert 100 * max(r["mean"] + r["std"] for r in cells) + 1 <= high <= 100 and actions.y_range(None) is None
    shades = actions.colours(result)
    assert set(shades) == {r["method"] for r in cells} and len(set(shades.values())) == 4
    chart = actions.curve_chart(result)
    assert chart.shape == (charts.HEIGHT, charts.WIDTH, 3)
    for colour in shades.values():  # every method's line is drawn in its own colour
        assert (chart == charts._rgb(colour)).all(axis=2).sum() > 20, colour
    text = actions.about(result)
    assert "gan-fashion (pool capped at 50 per class" in text and "earlier weights" not in text
    assert "Adding gan-fashion's images (best of 1x and 5x) against real images alone" in text
    result["generators"]["gan-fashion"]["weights_sha256"] = "0" * 64
    assert "**gan-fashion: these numbers were measured on earlier weights**" in actions.about(result)
    assert actions.weights_note(result)["gan-fashion"].startswith("measured on earlier weights (000000000000)")
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{cas_bench.START}\nold\n{cas_bench.END}\nafter\n")
    cards.write_section(readme, cas_bench.START, cas_bench.END, cas_bench.markdown(result))
    written = readme.read_text()
    assert "old" not in written and "| real + 5x gan-fashion |" in written and "not measured" in written
    assert written.startswith("before\n") and written.endswith("after\n") and "Capped pools: gan-fashion" in written
    assert actions.read(tmp_path / "missing.json") is None and actions.about(None) == actions.NOT_MEASURED
    assert actions.cas_rows(None) == [] and actions.curve_chart(None) is None


def test_a_pool_is_drawn_once_in_chunks_and_read_back(tiny_registry, pools, monkeypatch):
    assert cas_pool.conditional_ids() == ["gan-fashion"]  # vae-fashion draws no classes
    assert cas_pool.missing_images("gan-fashion", 15) == 200 and cas_pool.stored("gan-fashion") == 0
    steps = list(cas_pool.generated_steps("gan-fashion", 5))
    assert [s[:2] for s in steps] == [(0, 1), (1, 1)]
    images, labels = cas_pool.generated("gan-fashion", 15)
    assert images.shape == (150, 28, 28) and images.dtype == np.uint8
    assert np.array_equal(np.bincount(labels), [15] * 10) and np.array_equal(labels[:12], np.arange(12) % 10)
    assert cas_pool.stored("gan-fashion") == 20 and cas_pool.missing_images("gan-fashion", 20) == 0
    assert len(list(pools.rglob("chunk-*.npy"))) == 2 and cas_pool.speed("gan-fashion")["images"] == 200
    monkeypatch.setattr(cas_pool, "_draw_chunk", lambda *a: pytest.fail("a stored chunk was drawn again"))
    again, _ = cas_pool.generated("gan-fashion", 15)
    assert np.array_equal(again, images)
    assert np.array_equal(cas_pool.generated("gan-fashion", 5)[0], images[:50])  # the first of each class
    with pytest.raises(InputError, match="not an installed generator conditional"):
        cas_pool.generated("vae-fashion", 5)


def _row(method, n, accuracies):
    return {"method": method, "n": n, **cas.summary(accuracies)}


def test_the_verdict_says_where_generated_images_help_hurt_or_change_nothing():
    curves = [_row(cas.REAL, 10, [0.70, 0.71, 0.72]), _row(cas.CLASSICAL, 10, [0.74, 0.75, 0.76]),
              _row("real + 1x good", 10, [0.80, 0.81, 0.82]), _row("real + 5x good", 10, [0.83, 0.84, 0.85]),
              _row("real + 1x bad", 10, [0.60, 0.61, 0.62]), _row("real + 5x bad", 10, [0.50, 0.51, 0.52]),
              _row(cas.REAL, 100, [0.80, 0.81, 0.82]), _row(cas.CLASSICAL, 100, [0.80, 0.82, 0.81]),
              _row("real + 1x good", 100, [0.79, 0.81, 0.83]), {"method": "real + 5x good", "n": 100, "skipped": "x"},
              _row("real + 1x bad", 100, [0.80, 0.81, 0.82]), _row("real + 5x bad", 100, [0.70, 0.71, 0.72])]
    said = cas.verdict({"curves": curves, "generators": {"good": {}, "bad": {}}})
    assert len(said) == 3
    text = " ".join(said)
    assert "Classical augmentation against real images alone, in points: helps at n = 10 (+4.0); no clear " \
           "change at n = 100 (+0.0)." in text
    assert "Adding good's images (best of 1x and 5x) against real images alone, in points: helps at n = 10 " \
           "(+13.0, 5x); no clear change at n = 100 (+0.0, 1x). It beats classical augmentation at n = 10." in text
    assert "Adding bad's images (best of 1x and 5x) against real images alone, in points: hurts at n = 10 " \
           "(-10.0, 1x); no clear change at n = 100 (+0.0, 1x). It never clearly beats classical augmentation. " \
           "bad does not help this classifier at any n measured here." in text


def test_the_bench_writes_the_asset_and_the_readme_section(tiny_registry, pools, tmp_path, monkeypatch):
    from playground import registry
    monkeypatch.setattr(cas_bench, "QUICK", {"sizes": (5,), "seeds": (0, 1), "cas_per_class": 10, "steps": 20})
    full = cas.real()
    assert full.full, "CI installs Debian's dataset-fashion-mnist"
    fewer = dataclasses.replace(full, test=tuple(a[:1000] for a in full.test))  # the first 1,000 test images
    monkeypatch.setattr(cas, "real", lambda: fewer)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{cas_bench.START}\n{cas_bench.END}\n")
    result = cas_bench.run(quick=True, readme=readme, out=tmp_path / "cas.json", log=lambda _: None)
    assert json.loads((tmp_path / "cas.json").read_text()) == result
    assert result["command"] == "python -m playground.bench --cas --quick --readme README.md"
    assert result["seeds"] == [0, 1] and result["steps"] == 20 and result["test_images"] == 1000
    gan = result["generators"]["gan-fashion"]
    assert gan["weights_sha256"] == registry.default().weights_sha256("gan-fashion") and gan["pool_per_class"] == 25
    assert not gan["capped"] and gan["seconds_per_image"] >= 0 and cas_pool.stored("gan-fashion") == 30
    assert gan["sampler"] == "truncation at its training value" and gan["pool_minutes_here"] >= 0
    assert [r["method"] for r in result["cas"]] == ["real", "gan-fashion"]
    assert len(result["curves"]) == 4 and all(len(r["accuracies"]) == 2 for r in result["curves"])
    assert "| real + 5x gan-fashion |" in readme.read_text() and actions.cas_rows(result)[1][3] == "current"
    assert "Drawing the pools (once, before this run; kept under `runs/cas/`" in readme.read_text()


def test_without_the_training_split_the_gallery_is_split_and_the_bench_says_why(tmp_path, monkeypatch):
    from playground import data
    from playground.errors import DataMissing
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    data.clear_cache()
    try:
        real = cas.real()
        assert not real.full and len(real.test[0]) == 1000 and np.array_equal(np.bincount(real.train[1]), [100] * 10)
        assert "shipped gallery" in real.train_name and "sudo apt-get install dataset-fashion-mnist" in real.train_name
        with pytest.raises(DataMissing, match="training split"):
            cas_bench.run_measure(quick=True)
    finally:
        data.clear_cache()


def test_a_slow_generators_pool_is_capped_from_its_timed_draws_or_its_first_chunk(tiny_registry, pools, monkeypatch):
    monkeypatch.setattr(cas_bench, "POOL_CAPPED", 20)
    drawn = []
    real_draw = cas_pool._draw_chunk
    monkeypatch.setattr(cas_pool, "_draw_chunk", lambda model, family, c: drawn.append(c) or real_draw(model, family, c))
    where = cas_pool.folder("gan-fashion")
    where.mkdir(parents=True)
    (where / "speed.json").write_text(json.dumps({"images": 100, "seconds": 1000.0}))  # 10 s an image, timed before
    record = cas_bench.prepare_pool("gan-fashion", 100, log=lambda _: None)
    assert record["capped"] and record["pool_per_class"] == 20 and drawn == [0, 1]  # no chunk drawn to time it
    assert cas_pool.speed("gan-fashion")["images"] == 300
    (where / "speed.json").unlink()
    monkeypatch.setattr(cas_bench, "POOL_MINUTES", 0)  # untimed: its first missing chunk times it
    drawn.clear()
    record = cas_bench.prepare_pool("gan-fashion", 100, log=lambda _: None)
    assert record["capped"] and record["pool_per_class"] == 20 and drawn == [2]
    assert cas_pool.speed("gan-fashion")["images"] == 100  # the closed draw still noted its chunk
    monkeypatch.setattr(cas_bench, "POOL_MINUTES", 15)
    drawn.clear()
    record = cas_bench.prepare_pool("gan-fashion", 40, log=lambda _: None)
    assert not record["capped"] and record["pool_per_class"] == 40 and drawn == [3]


@pytest.mark.parametrize("images, labels", [
    (np.zeros((4, 28, 28), np.float32), [0, 1, 2, 3]), (np.zeros((4, 32, 32), np.uint8), [0, 1, 2, 3]),
    (np.zeros((0, 28, 28), np.uint8), []), (np.zeros((4, 28, 28), np.uint8), [0, 1, 2, 10]),
    (np.zeros((4, 28, 28), np.uint8), [0, 1, 2]), (np.zeros((4, 28, 28), np.uint8), [0.5, 1, 2, 3])])
def test_the_classifier_refuses_what_it_cannot_train_on(images, labels):
    with pytest.raises(InputError):
        cas.train(images, np.asarray(labels), 0, steps=1)


def test_cases_refuse_too_many_or_no_images(small):
    with pytest.raises(InputError, match="Only 100 real images of class 0"):
        cas.pick_real(small.train[1], 101, 0)
    with pytest.raises(InputError, match="needs some training images"):
        cas.case(small, 0, 0)


@pytest.mark.parametrize("args, words", [
    (("vae-fashion", 10, "5x", 0), "Generator"), (("no-such", 10, "5x", 0), "Generator"),
    (("gan-fashion", 7, "5x", 0), "Real images per class"), (("gan-fashion", 10.5, "5x", 0), "Real images per class"),
    (("gan-fashion", 10, "3x", 0), "Generated images added"), (("gan-fashion", 10, 5, 0), "Generated images added"),
    (("gan-fashion", 10, "5x", -1), "Seed"), (("gan-fashion", 10, "5x", float("nan")), "Seed"),
    (("gan-fashion", None, "5x", 0), "Real images per class")])
def test_the_live_run_refuses_bad_input_in_the_apps_words(tiny_registry, pools, args, words):
    with pytest.raises(InputError, match=words):
        next(actions.live(*args))


def test_the_live_run_refuses_to_draw_more_than_it_may(tiny_registry, pools):
    with pytest.raises(InputError, match="a live run draws at most 500"):
        next(actions.live("gan-fashion", 100, "5x", 0))


def test_the_live_run_streams_three_classifiers_and_stops(small, tiny_registry, pools, monkeypatch):
    monkeypatch.setattr(actions, "LIVE_STEPS", 30)
    monkeypatch.setattr(cas, "real", lambda: small)  # tested on 1,000 gallery images: quicker than 10,000
    states = list(actions.live("gan-fashion", 10, "1x", 11))
    assert "Drawing 100 images from gan-fashion" in states[0][1]
    rows, status = states[-1]
    assert [r[0] for r in rows] == ["real only", "real + classical augmentation", "real + 1x gan-fashion"]
    assert [r[1] for r in rows] == [100, 100, 200] and all(0 <= r[2] <= 100 for r in rows)
    assert status.startswith("Done in") and "seed 11" in status and small.test_name in status
    assert f"Real only {rows[0][2]:.1f}%; with classical augmentation {rows[1][2]:.1f}%" in status
    assert "in this run the generated images " in status
    asked = []

    def stop_after_first():
        asked.append(1)
        return len(asked) > 1
    states = list(actions.live("gan-fashion", 10, "1x", 12, should_stop=stop_after_first))
    assert states[-1][1].startswith("Stopped during classifier") and len(states[-1][0]) <= 1
