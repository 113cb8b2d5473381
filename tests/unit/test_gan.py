"""The GAN family (families/gan.py) and its training step, on a tiny model."""
import math

import numpy as np
import pytest
import torch

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
    out = gan.prepare_faces(faces)
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
