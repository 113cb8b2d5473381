"""The diffusion family on a tiny untrained UNet saved as the training command saves it."""
import numpy as np
import pytest
import torch

from playground.errors import InputError, PlaygroundError
from playground.families import diffusion
from playground.train import diffusion as train


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    config = dict(train.FASHION, block_out_channels=(8, 8, 8))
    folder = tmp_path_factory.mktemp("ddpm") / "ddpm-tiny"
    train.save_folder(folder, train.build_unet(config), train.make_scheduler(), config)
    return diffusion.load(folder).eval()


def test_the_folder_loads_with_its_settings(tiny):
    assert tiny.num_classes == 10 and tiny.pad == 2 and tiny.output_size == 28


@pytest.mark.parametrize("sampler", list(diffusion.SAMPLERS))
def test_every_sampler_runs_and_is_seeded(tiny, sampler):
    a = diffusion.generate(tiny, 3, 2, [0, 1], sampler, 3)
    b = diffusion.generate(tiny, 3, 2, [0, 1], sampler, 3)
    assert a.shape == (2, 28, 28) and a.dtype == np.uint8 and np.array_equal(a, b)


def test_steps_stream_x_t_and_x0(tiny):
    states = list(diffusion.sample_steps(tiny, 0, 2, 1, "DDIM", 4))
    assert [s[0] for s in states] == [1, 2, 3, 4] and all(s[1] == 4 for s in states)
    assert states[-1][2].shape == (2, 1, 32, 32) and states[-1][3].abs().max() <= 1


def test_guidance_changes_the_result_and_no_class_is_allowed(tiny):
    w1 = list(diffusion.sample_steps(tiny, 0, 2, 3, "DDIM", 3, guidance=1.0))[0][2]
    w4 = list(diffusion.sample_steps(tiny, 0, 2, 3, "DDIM", 3, guidance=4.0))[0][2]
    assert not torch.allclose(w1, w4)
    assert diffusion.generate(tiny, 0, 2, None, "DDIM", 3).shape == (2, 28, 28)


@pytest.mark.parametrize("kwargs", [{"sampler": "PLMS"}, {"steps": 0}, {"steps": 2.5}, {"labels": 10},
                                    {"n": 0}, {"guidance": float("nan")}])
def test_bad_arguments_are_refused(tiny, kwargs):
    args = {"n": 2, "labels": 0, "sampler": "DDIM", "steps": 2, **kwargs}
    with pytest.raises(InputError):
        diffusion.generate(tiny, 0, **args)


@pytest.mark.parametrize("skipped", [set(), {"ddpm1000"}])
def test_evaluate_measures_every_setting_on_the_ladder(tiny, monkeypatch, skipped):
    from playground import ladder, registry
    from playground.families import features
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (300, 28, 28)).astype(np.uint8)
    monkeypatch.setattr(ladder, "real_sets", lambda dataset, seed, size: ladder.RealSets(real[:150], real[150:], 50, real))
    net = features.build({"num_classes": 10, "width": 4, "feature_dim": 8, "image_size": 28}).eval()
    monkeypatch.setattr(registry, "get_model", lambda model_id: net)
    monkeypatch.setattr(diffusion, "SETTINGS", {"ddpm1000": ("DDPM", 3), "dpm20": ("DPM-Solver++", 2),
                                                "ddim10": ("DDIM", 2)})
    import dataclasses

    from playground import datasets
    monkeypatch.setitem(datasets.DATASETS, "fashion-mnist",
                        dataclasses.replace(datasets.DATASETS["fashion-mnist"], sampler_n=20))
    monkeypatch.setattr(diffusion, "SLOW_ABOVE", 0 if skipped else 32)  # the tiny model is 28x28
    m = diffusion.evaluate(tiny, quick=False, log=lambda text: None)
    assert {"fd_fashion", "fd_fashion_ddim10_n20", "fd_fashion_dpm20_n20", "recall_ddim10_n20", "kd_fashion",
            "kd_fashion_se", "kd_fashion_ddim10_n20", "kd_fashion_ddim10_n20_se",
            "fd_fashion_floor_n20", "precision", "recall", "label_accuracy", "fd_fashion_floor"} <= set(m)
    slow = {"fd_fashion_ddpm1000_n20", "precision_ddpm1000_n20", "seconds_per_image_ddpm1000"}
    assert slow <= set(m) if not skipped else not slow & set(m)
    assert all(np.isfinite(v) for v in m.values()) and diffusion.sampler_n(m) == 20


def test_report_writes_the_grid_and_the_sampler_table(tiny, tmp_path):
    import types
    metrics = {"fd_fashion": 1.5, "fd_fashion_floor": 0.1, "fd_fashion_floor_n200": 0.9,
               "fd_fashion_ddim10_n200": 2.0, "precision_ddim10_n200": 0.7, "recall_ddim10_n200": 0.6,
               "seconds_per_image_ddim10": 0.05, "kd_fashion_ddim10_n200": 0.0123, "kd_fashion_ddim10_n200_se": 0.004,
               "kd_fashion": 0.002, "kd_fashion_se": 0.0005}
    text = diffusion.report(tiny, types.SimpleNamespace(id="ddpm-x", dataset="fashion-mnist",
                                                        metrics_command="python -m playground.evaluate ddpm-x --write"),
                            metrics, tmp_path)
    assert (tmp_path / "samples.png").is_file() and "| DDIM 10 | 2.000 | 0.0123 ± 0.0040 | 0.700 | 0.600 | 0.050 |" in text
    assert "on features-fashion: KD 0.0020 ± 0.0005" in text
    assert "Every sampler on the same 200 images" in text and "score 0.900" in text


@pytest.mark.parametrize("preset", sorted(train.PRESETS))
def test_card_templates_parse_as_cards(tmp_path, preset):
    from playground.cards import parse_card
    config = train.PRESETS[preset]["config"]
    path = tmp_path / f"{train.PRESETS[preset]['model_id']}.md"
    path.write_text(train.card_template(preset, config, 1234))
    card = parse_card(path)
    assert card.family == "diffusion" and card.params == 1234 and card.metrics_command.endswith("--write")
    run = train.run_text(5.0, 1, lr=1e-3, batch_size=8, steps=10, seed=0)
    assert "10 steps" in run and "5 minutes" in run and "one CPU thread" in run and "10 steps" not in card.body


def test_a_warm_start_continues_shipped_weights_and_the_card_says_how(tiny, tmp_path):
    """--warm-start reads a diffusers folder's UNet (refusing one trained with other settings), and the card's
    run text names the pieces and the offset noise."""
    config = dict(train.FASHION, block_out_channels=(8, 8, 8))
    unet = train.build_unet(config)
    train.save_folder(tmp_path / "shipped", unet, train.make_scheduler(), config)
    state = train.warm_weights(tmp_path / "shipped", dict(config, guidance=1.5, steps=50))  # sampling settings may differ
    assert set(state) == set(unet.state_dict()) and all((state[k] == v).all() for k, v in unet.state_dict().items())
    with pytest.raises(PlaygroundError, match="other settings"):
        train.warm_weights(tmp_path / "shipped", dict(config, block_out_channels=(8, 8, 16)))
    with pytest.raises(PlaygroundError, match="no warm start"):
        train.warm_step({"model_id": "x"})
    assert train.warm_step(train.PRESETS["fashion"]) == 6000
    run = train.run_text(5.0, 1, [{"step": 6000, "source": "the shipped weights"}], 0.1, lr=5e-4, batch_size=32,
                         steps=20000, seed=0)
    assert "from step 6,000, the shipped weights" in run and "Offset noise 0.1" in run and "20000 steps" in run
