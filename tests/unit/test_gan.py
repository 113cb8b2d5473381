"""The GAN family (families/gan.py) and its training step, on a tiny model."""
import math

import numpy as np
import pytest
import torch

from playground import datasets
from playground.errors import InputError
from playground.families import gan
from playground.registry import load_weights, save_weights

torch.set_num_threads(1)
TINY = dict(latent_dim=16, g_width=8, d_width=8, image_size=64, channels=1)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = gan.build(TINY)
    gan.recalibrate_bn(m.generator, seed=1, batches=2, batch_size=16)
    return m.eval()


def test_round_trip_through_safetensors(model, tmp_path):
    save_weights(tmp_path, model, TINY)
    loaded = load_weights(tmp_path, gan.build).eval()
    assert np.array_equal(gan.generate(model, 3, 4), gan.generate(loaded, 3, 4))
    faces = gan.generate(model, 5, 3)
    assert np.array_equal(gan.discriminate(model, faces), gan.discriminate(loaded, faces))


def test_generate_is_deterministic_per_seed(model):
    a = gan.generate(model, 7, 4)
    assert a.shape == (4, 64, 64, 1) and a.dtype == np.uint8
    assert np.array_equal(a, gan.generate(model, 7, 4))
    assert not np.array_equal(a, gan.generate(model, 8, 4))
    assert np.array_equal(gan.default_action(model, 7)[:4], a)


def test_truncation_zero_gives_the_same_face_for_every_seed(model):
    a, b = gan.generate(model, 1, 2, truncation=0.0), gan.generate(model, 2, 2, truncation=0.0)
    assert np.array_equal(a, b) and np.array_equal(a[0], a[1])
    with pytest.raises(InputError):
        gan.generate(model, 1, 2, truncation=-1)
    with pytest.raises(InputError):
        gan.generate(model, 1, 0)


def test_slerp_endpoints_and_norm():
    z = gan.latents(0, 2, 16)
    assert torch.allclose(gan.slerp(z[0], z[1], 0.0), z[0], atol=1e-5)
    assert torch.allclose(gan.slerp(z[0], z[1], 1.0), z[1], atol=1e-5)
    mid = gan.slerp(z[0], z[1], 0.5)
    assert min(z[0].norm(), z[1].norm()) - 1e-4 <= mid.norm() <= max(z[0].norm(), z[1].norm()) + 1e-4


def test_interpolate_starts_and_ends_at_the_seeds(model):
    frames = gan.interpolate(model, 1, 2, steps=5)
    assert frames.shape == (5, 64, 64, 1)
    assert np.abs(frames[0].astype(int) - gan.generate(model, 1, 1)[0]).max() <= 1
    assert np.abs(frames[-1].astype(int) - gan.generate(model, 2, 1)[0]).max() <= 1


def test_discriminate_accepts_layouts_and_other_sizes(model):
    faces = gan.generate(model, 4, 3)
    scores = gan.discriminate(model, faces)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert np.allclose(gan.discriminate(model, faces[..., 0]), scores)
    orl_like = np.random.default_rng(0).integers(0, 256, (2, 112, 92), dtype=np.uint8)
    assert gan.discriminate(model, orl_like).shape == (2,)
    with pytest.raises(InputError):
        gan.discriminate(model, np.zeros((2, 64, 64), np.float32))


def test_prepare_faces_crops_a_square_and_resizes():
    faces = np.random.default_rng(0).integers(0, 256, (3, 112, 92), dtype=np.uint8)
    out = datasets.ORL.prepare(faces, 64)  # how the GAN and the ladder crop faces
    assert out.shape == (3, 64, 64) and out.dtype == np.uint8


def test_diff_augment_keeps_shapes_and_is_deterministic_for_a_seed():
    x = torch.rand(4, 1, 64, 64) * 2 - 1
    a = gan.diff_augment(x, torch.Generator().manual_seed(0))
    b = gan.diff_augment(x, torch.Generator().manual_seed(0))
    c = gan.diff_augment(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    for policy in ("translation", "cutout", "color"):
        assert gan.diff_augment(x, torch.Generator().manual_seed(0), policy).shape == x.shape
    cut = gan.diff_augment(torch.ones(8, 1, 64, 64), torch.Generator().manual_seed(0), "cutout")
    assert ((cut == 0).flatten(1).float().mean(1) > 0.05).all()  # every image loses a patch
    with pytest.raises(InputError):
        gan.diff_augment(x, torch.Generator().manual_seed(0), "zoom")


def test_diff_augment_is_differentiable():
    x = torch.zeros(2, 1, 64, 64, requires_grad=True)
    gan.diff_augment(x, torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_one_training_step_gives_finite_losses():
    from playground.train import gan as train_gan
    torch.manual_seed(0)
    m = gan.build(TINY).train()
    g, d = m.generator, m.discriminator
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=train_gan.BETAS)
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=train_gan.BETAS)
    gen = torch.Generator().manual_seed(0)
    faces = torch.randint(0, 256, (8, 64, 64), dtype=torch.uint8, generator=gen)
    (real,) = train_gan.real_batch((faces,), gen)
    assert real.shape == (8, 1, 64, 64) and real.min() >= -1 and real.max() <= 1
    fake = g(torch.randn(8, 16, generator=gen)).detach()
    scores = d(torch.cat([gan.diff_augment(real, gen), gan.diff_augment(fake, gen)]))
    d_loss = gan.hinge_d_loss(scores[:8], scores[8:])
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = gan.hinge_g_loss(d(gan.diff_augment(g(torch.randn(8, 16, generator=gen)), gen)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    assert math.isfinite(d_loss.item()) and math.isfinite(g_loss.item())
    assert all(p.grad is not None for p in g.parameters())


def test_export_holds_the_ema_generator_and_the_discriminator():
    from playground.train import gan as train_gan
    torch.manual_seed(0)
    m = gan.build(TINY)
    shipped = train_gan.export(m.generator, m.discriminator, TINY)
    assert not shipped.training
    for a, b in zip(shipped.generator.parameters(), m.generator.parameters()):
        assert torch.equal(a, b)
    assert shipped.discriminator.state_dict().keys() == m.discriminator.state_dict().keys()


# class-conditional GAN (gan-fashion) ---------------------------------------------------------------
TINY_COND = dict(latent_dim=16, g_width=8, d_width=8, image_size=32, channels=1, num_classes=10,
                 output_size=28, dataset="fashion-mnist")


@pytest.fixture(scope="module")
def cond():
    torch.manual_seed(0)
    m = gan.build(TINY_COND)
    for norm in m.generator.modules():  # untrained, every class has gain 1 and bias 0: make them differ
        if isinstance(norm, gan.ConditionalBatchNorm):
            torch.nn.init.normal_(norm.bias.weight, 0, 0.5)
    gan.recalibrate_bn(m.generator, seed=1, batches=2, batch_size=16)
    return m.eval()


def test_conditional_model_builds_at_32_and_crops_to_28(cond):
    assert len(cond.generator.body) == 3 * 3 - 1  # three upsamplings: 4 -> 8 -> 16 -> 32
    assert cond.generator(torch.zeros(2, 16), torch.tensor([0, 9])).shape == (2, 1, 32, 32)
    images = gan.generate(cond, 0, 5, labels=3)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8
    assert gan.default_action(cond, 1).shape == (64, 28, 28, 1)
    assert gan.class_names(cond)[9] == "Ankle boot" and gan.class_names(gan.build(TINY)) == []
    with pytest.raises(InputError):
        gan.build(dict(TINY_COND, image_size=28))  # not 4 times a power of two


def test_conditional_generate_is_deterministic_and_follows_the_labels(cond):
    a = gan.generate(cond, 7, 4, labels=[1, 2])
    assert np.array_equal(a, gan.generate(cond, 7, 4, labels=[1, 2, 1, 2]))  # cycled to n
    assert not np.array_equal(a, gan.generate(cond, 8, 4, labels=[1, 2]))
    b = gan.generate(cond, 7, 4, labels=5)
    assert not np.array_equal(a, b)
    assert np.array_equal(b, gan.generate(cond, 7, 4, labels=np.array([5])))
    frames = gan.interpolate(cond, 7, 8, steps=3, label=5)
    assert frames.shape == (3, 28, 28, 1)
    assert np.abs(frames[0].astype(int) - b[0]).max() <= 1


@pytest.mark.parametrize("labels", [None, 10, -1, [0, 11], [], True, 1.5, "3", [1, None]])
def test_bad_labels_raise_input_error(cond, labels):
    with pytest.raises(InputError):
        gan.generate(cond, 0, 2, labels=labels)


def test_labels_are_refused_by_an_unconditional_model_and_required_by_a_conditional_one(model, cond):
    with pytest.raises(InputError, match="unconditional"):
        gan.generate(model, 0, 2, labels=1)
    with pytest.raises(InputError, match="class-conditional"):
        gan.interpolate(cond, 0, 1, steps=2)
    with pytest.raises(InputError):
        gan.interpolate(cond, 0, 1, steps=2, label=[1, 2])
    with pytest.raises(InputError):
        gan.discriminate(cond, gan.generate(cond, 0, 2, labels=1))


def test_conditional_discriminate_pads_28_to_32_and_uses_the_labels(cond):
    images = gan.generate(cond, 3, 4, labels=[0, 1, 2, 3])
    scores = gan.discriminate(cond, images, labels=[0, 1, 2, 3])
    assert scores.shape == (4,) and np.isfinite(scores).all()
    assert not np.allclose(scores, gan.discriminate(cond, images, labels=[9, 8, 7, 6]))
    padded = torch.from_numpy(np.pad(images[..., 0], ((0, 0), (2, 2), (2, 2)))).float().div(127.5).sub(1)
    with torch.no_grad():
        direct = cond.discriminator(padded.unsqueeze(1), torch.tensor([0, 1, 2, 3])).numpy()
    assert np.allclose(scores, direct, atol=1e-5)
    assert gan.discriminate(cond, np.zeros((2, 40, 40), np.uint8), labels=1).shape == (2,)


def test_conditional_round_trip_through_safetensors(cond, tmp_path):
    save_weights(tmp_path, cond, TINY_COND)
    loaded = load_weights(tmp_path, gan.build).eval()
    assert np.array_equal(gan.generate(cond, 3, 4, labels=[4, 5]), gan.generate(loaded, 3, 4, labels=[4, 5]))


# state-dict keys of the unconditional model as they were before num_classes existed (gan-faces'
# shipped weights hold exactly these): the conditional option must not rename or add any
UNCONDITIONAL_KEYS = [
    "generator.fc.0.weight", *(f"generator.fc.1.{k}" for k in
                               ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
    *(f"generator.body.{i}.{k}" for i in (1, 4, 7) for k in ("weight", "bias", "running_mean", "running_var",
                                                             "num_batches_tracked")),
    *(f"generator.body.{i}.weight" for i in (0, 3, 6, 9)), "generator.body.9.bias",
    *(f"discriminator.{m}.{k}" for m in ("body.0", "body.2", "body.4", "body.6", "head")
      for k in ("bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
                "parametrizations.weight.0._v")),
]


def test_unconditional_state_dict_is_unchanged(model, tmp_path):
    assert sorted(model.state_dict()) == sorted(UNCONDITIONAL_KEYS)
    # a gan-faces-style folder: the config without the new keys, the state dict with the old keys
    save_weights(tmp_path, model, TINY)
    loaded = load_weights(tmp_path, gan.build)
    assert loaded.num_classes == 0 and loaded.output_size == 64 and loaded.dataset == "orl-faces"
    assert np.array_equal(gan.generate(loaded.eval(), 1, 2), gan.generate(model, 1, 2))


def test_one_conditional_training_step():
    from playground.train import gan as train_gan
    torch.manual_seed(0)
    m = gan.build(TINY_COND).train()
    g, d = m.generator, m.discriminator
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 2e-4), torch.optim.Adam(d.parameters(), 2e-4)
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (8, 32, 32), dtype=torch.uint8, generator=gen)
    real, y = train_gan.labelled_batch((images, torch.arange(8)), gen)
    assert real.shape == (8, 1, 32, 32) and torch.equal(y, torch.arange(8))
    fake_y = torch.randint(0, 10, (8,), generator=gen)
    fake = g(torch.randn(8, 16, generator=gen), fake_y).detach()
    d_loss = gan.hinge_d_loss(d(real, y), d(fake, fake_y))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = gan.hinge_g_loss(d(g(torch.randn(8, 16, generator=gen), fake_y), fake_y))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    assert math.isfinite(d_loss.item()) and math.isfinite(g_loss.item())
    assert g.fc[1].gain.weight.grad is not None and g.body[1].bias.weight.grad is not None
    shipped = train_gan.export(g, d, TINY_COND)
    assert shipped.num_classes == 10 and gan.generate(shipped, 0, 2, labels=1).shape == (2, 28, 28, 1)


def test_fashion_preset_and_card_follow_the_data_set():
    from playground.train import gan as train_gan
    assert train_gan.MODEL_IDS == {"orl-faces": "gan-faces", "fashion-mnist": "gan-fashion"}
    config = train_gan.PRESETS["fashion-mnist"]["config"]
    assert config["num_classes"] == 10 and config["image_size"] == 32 and config["output_size"] == 28
    fashion = train_gan.card_template(3, 4, dataset="fashion-mnist", betas=(0.0, 0.9), command="cmd")
    faces = train_gan.card_template(3, 4)
    assert "id: gan-fashion" in fashion and "Zalando" in fashion and "fd_fashion_floor" in fashion
    assert "fd_orl_blur2" in faces and "memorisation_rate" in faces
    assert "id: gan-faces" in faces and "(0.0, 0.99)" in faces
    run = dict(lr=2e-4, batch_size=64, steps=10, seed=0, minutes=1.0, threads=1, g_params=1, d_params=2, params=3)
    assert "about 0.1 passes over the training set" in train_gan.run_text("fashion-mnist", 0.1, **run)
    assert "about 1280 passes over the 400 faces" in train_gan.run_text("orl-faces", 1280, **run)


def test_export_timeline_copies_evenly_spaced_grids_and_subsampled_losses(tmp_path):
    import json
    from PIL import Image
    from playground.train import gan as train_gan
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    for step in range(100, 2100, 100):  # 20 grids
        Image.fromarray(np.zeros((6, 6), np.uint8)).save(run / "samples" / f"step_{step:06d}.png")
    (run / "log.jsonl").write_text("".join(json.dumps({"step": s, "d_loss": 1.0}) + "\n" for s in range(1, 1001)))
    weights = tmp_path / "weights" / "gan-x"
    (weights / "timeline").mkdir(parents=True)
    (weights / "timeline" / "step_999999.png").write_bytes(b"stale")
    out = train_gan.export_timeline(run, weights, max_grids=5, max_rows=10)
    assert out == weights / "timeline"
    names = sorted(p.name for p in out.glob("step_*.png"))
    assert len(names) == 5 and names[0] == "step_000100.png" and names[-1] == "step_002000.png"
    rows = json.loads((out / "losses.json").read_text())
    assert len(rows) == 10 and rows[0]["step"] == 1 and rows[-1]["step"] == 1000
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)
    small = train_gan.export_timeline(run, tmp_path / "w2", max_grids=50, max_rows=5000)
    assert len(list(small.glob("step_*.png"))) == 20 and len(json.loads((small / "losses.json").read_text())) == 1000
    with pytest.raises(FileNotFoundError):
        train_gan.export_timeline(tmp_path / "empty", tmp_path / "w3")


def test_export_timeline_drops_the_regular_grid_just_before_the_final_one(tmp_path):
    from PIL import Image
    from playground.train import gan as train_gan
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    for step in list(range(562, 9000, 562)) + [9000]:  # 16 regular grids, then the end's at 9000
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(run / "samples" / f"step_{step:06d}.png")
    out = train_gan.export_timeline(run, tmp_path / "w", max_grids=16)
    names = sorted(p.name for p in out.glob("step_*.png"))
    assert len(names) == 16 and "step_008992.png" not in names and names[-1] == "step_009000.png"
    assert (out / "losses.json").read_text().strip() == "[]"
