"""The VAE family on tiny untrained models: a proper pixel distribution, bounds, determinism."""
import math

import numpy as np
import pytest
import torch

from playground.errors import InputError
from playground.families import vae


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return vae.build({"latent_dim": 4, "width": 8, "image_size": 28, "mixtures": 3}).eval()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    x = np.zeros((6, 28, 28), np.uint8)
    x[:, 6:22, 8:20] = rng.integers(0, 256, (6, 16, 12))
    return x


def test_the_decoder_distribution_sums_to_one_over_the_256_values():
    torch.manual_seed(1)
    params = torch.randn(2, 9, 3, 3) * 2  # 3 mixture components, extreme scales included
    params[:, 6:] = torch.tensor([-7.0, -3.0, 1.0]).view(1, 3, 1, 1)
    values = torch.arange(256, dtype=torch.float32) / 127.5 - 1
    x = values.view(256, 1, 1, 1).expand(256, 1, 3, 3)
    logp = torch.stack([vae.log_likelihood(x[i:i + 1].expand(2, 1, 3, 3), params) for i in range(256)])
    total = logp.exp().sum(0)
    assert torch.allclose(total, torch.ones_like(total), atol=2e-3)


def test_a_sharp_decoder_codes_its_mean_in_few_bits():
    mean = torch.full((1, 1, 2, 2), 100 / 127.5 - 1)
    params = torch.cat([torch.zeros(1, 1, 2, 2), mean, torch.full((1, 1, 2, 2), -7.0)], 1)
    exact = vae.log_likelihood(mean, params)
    off = vae.log_likelihood(mean + 10 / 127.5, params)
    assert (-exact / math.log(2) < 0.1).all() and (off < exact - 10).all()


def test_shapes_and_uint8_outputs(tiny, images):
    mu, logvar = vae.encode(tiny, images)
    assert mu.shape == logvar.shape == (6, 4)
    for out in (vae.reconstruct(tiny, images), vae.sample_prior(tiny, 0, 5), vae.interpolate(tiny, images[0], images[1], 7)):
        assert out.dtype == np.uint8 and out.shape[1:] == (28, 28)
    assert vae.pixel_bits(tiny, images).shape == (6, 28, 28)


def test_seeds_reproduce_and_differ(tiny, images):
    a, b = vae.sample_prior(tiny, 3, 4, decode="sample"), vae.sample_prior(tiny, 3, 4, decode="sample")
    assert np.array_equal(a, b) and not np.array_equal(a, vae.sample_prior(tiny, 4, 4, decode="sample"))
    assert np.array_equal(vae.bound_bits(tiny, images, 1, 5), vae.bound_bits(tiny, images, 1, 5))


def test_temperature_zero_decodes_the_prior_mean_everywhere(tiny):
    out = vae.sample_prior(tiny, 0, 3, temperature=0.0)
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2])


def test_the_importance_weighted_bound_is_tighter_than_the_elbo(tiny, images):
    elbo = np.mean([vae.bound_bits(tiny, images, 1, s).mean() for s in range(8)])
    iw = vae.bound_bits(tiny, images, 64, 0).mean()
    assert iw < elbo


def test_bits_match_the_forward_loss(tiny, images):
    x = tiny.prepare(images)
    gen = torch.Generator().manual_seed(0)
    rec, kl = tiny(x, gen)
    direct = ((rec + kl) / (784 * math.log(2))).detach().double().numpy()
    assert np.allclose(direct, vae.bound_bits(tiny, images, 1, 0), rtol=1e-5)


@pytest.mark.parametrize("bad", [np.zeros((2, 27, 28), np.uint8), np.zeros((0, 28, 28), np.uint8),
                                 np.zeros((2, 3, 28, 28), np.uint8)])
def test_wrong_images_are_refused(tiny, bad):
    with pytest.raises(InputError):
        vae.reconstruct(tiny, bad)


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 1000}, {"temperature": -1}, {"temperature": float("nan")},
                                    {"decode": "median"}])
def test_bad_sampling_arguments_are_refused(tiny, kwargs):
    with pytest.raises(InputError):
        vae.sample_prior(tiny, 0, **{"n": 2, **kwargs})


def test_non_finite_latents_are_refused(tiny):
    with pytest.raises(InputError):
        vae.decode_latents(tiny, np.array([[np.nan] * 4], np.float32))


def test_faces_size_builds_and_other_sizes_are_refused():
    model = vae.build({"latent_dim": 4, "width": 8, "image_size": 64, "mixtures": 2, "dataset": "orl-faces"})
    assert vae.sample_prior(model.eval(), 0, 2).shape == (2, 64, 64)
    with pytest.raises(InputError):
        vae.build({"image_size": 30})


def test_evaluate_reports_bounds_and_reconstruction(tiny, monkeypatch):
    rng = np.random.default_rng(1)
    fake = rng.integers(0, 256, (40, 28, 28)).astype(np.uint8)
    monkeypatch.setattr(vae, "test_images", lambda dataset, size: fake)
    monkeypatch.setattr(vae, "ood_images", lambda quick=False: fake[:10] // 4)
    monkeypatch.setattr(vae, "IW_K", 4)
    import playground.data as data
    monkeypatch.setattr(data, "fashion_mnist", lambda split="train": (fake, np.arange(40) % 10))
    m = vae.evaluate(tiny.__class__(latent_dim=4, width=8, mixtures=3).eval(), quick=True)
    assert set(m) >= {"test_elbo_bpd", "test_iw_bpd", "recon_psnr", "recon_ssim", "ood_auroc_raw",
                      "ood_auroc_corrected", "baseline_histogram_bpd", "baseline_png_bpd"}
    assert 0 <= m["ood_auroc_raw"] <= 1 and m["test_iw_bpd"] > 0


def test_report_writes_figures_and_explains_each_metric(tiny, tmp_path, monkeypatch):
    import types
    monkeypatch.setattr(vae, "test_images", lambda dataset, size: np.zeros((16, 28, 28), np.uint8))
    text = vae.report(tiny, types.SimpleNamespace(id="vae-x"), {"test_elbo_bpd": 3.3, "ood_auroc_raw": 0.1},
                      tmp_path)
    from PIL import Image
    with Image.open(tmp_path / "samples.png") as im:
        assert im.size == (2 * (8 * 30 + 2), 2 * (8 * 30 + 2))
    assert (tmp_path / "reconstructions.png").is_file()
    assert "| test_elbo_bpd | 3.3 | negative ELBO" in text and "../weights/vae-x/samples.png" in text


def test_fitted_codes_reproduce_their_mean_and_covariance(tiny, images):
    mean, chol = vae.fit_codes(tiny, np.concatenate([images] * 4))
    mu, _ = vae.encode(tiny, np.concatenate([images] * 4))
    assert np.allclose(mean, mu.mean(0), atol=1e-5) and np.allclose(chol @ chol.T, np.cov(mu.T), atol=1e-4)
    out = vae.sample_prior(tiny, 0, 3, fitted=(mean, chol))
    assert out.shape == (3, 28, 28) and np.array_equal(out, vae.sample_prior(tiny, 0, 3, fitted=(mean, chol)))
