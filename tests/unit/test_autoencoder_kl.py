"""The hub photo autoencoder, loaded from a cache in the hub's layout at the card's pinned revision."""
import numpy as np
import pytest
import torch

from playground import registry
from playground.actions import vae as actions
from playground.cards import parse_card
from playground.errors import InputError
from playground.families import autoencoder_kl
from tests.conftest import SHIPPED
from tests.unit.test_registry import hub_cache

CARD = parse_card("model_cards/sd-vae-ft-mse.md")


TINY_MODELS = {CARD.id: SHIPPED}


@pytest.fixture(scope="module")
def hub_registry(tiny_registry):
    from diffusers import AutoencoderKL
    torch.manual_seed(0)
    tiny = AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                         up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1, latent_channels=4,
                         norm_num_groups=4)
    saved = tiny_registry / "saved"
    tiny.save_pretrained(saved, safe_serialization=True)
    cache = tiny_registry / "hub"
    cache.mkdir()
    hub_cache(cache, CARD.hub_repo, CARD.revision, {p.name: p.read_bytes() for p in saved.iterdir()})
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_HUB_CACHE", str(cache))
    patch.setenv("HF_HUB_OFFLINE", "1")
    yield registry.default()
    patch.undo()


def test_the_card_pins_a_revision_and_the_real_parameter_count():
    assert CARD.is_hub and len(CARD.revision) == 40 and CARD.family == "autoencoder_kl"
    from diffusers import AutoencoderKL
    with torch.device("meta"):
        full = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                             up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4)
    assert sum(p.numel() for p in full.parameters()) == CARD.params


def test_offline_without_a_cache_it_needs_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reg = registry.Registry()
    assert reg.availability("sd-vae-ft-mse") == registry.NEEDS_NETWORK


def test_loads_from_the_hub_cache_and_reconstructs_photos(hub_registry):
    assert hub_registry.availability("sd-vae-ft-mse") == "cached"
    model = hub_registry.get_model("sd-vae-ft-mse")
    photo = np.random.default_rng(0).integers(0, 256, (70, 90, 3)).astype(np.uint8)
    image, recon = autoencoder_kl.reconstruct(model, photo)
    assert image.shape == recon.shape == (64, 88, 3) and recon.dtype == np.uint8
    a, b = autoencoder_kl.default_action(model, 3), autoencoder_kl.default_action(model, 3)
    assert np.array_equal(a[1], b[1])


def test_the_vae_tab_reconstructs_a_bundled_photo_through_it(hub_registry):
    assert "sd-vae-ft-mse" in actions.recon_ids() and actions.test_count("sd-vae-ft-mse") >= 1
    r = actions.reconstruct("sd-vae-ft-mse", "test image", 0)
    assert r["bits_per_dim"] is None and r["input"].ndim == 3 and np.isfinite(r["psnr"])
    with pytest.raises(InputError):
        actions.sample("sd-vae-ft-mse", 0)


def test_big_photos_are_scaled_down_and_tiny_ones_refused():
    assert autoencoder_kl.fit(np.zeros((2000, 1000, 3), np.uint8)).shape == (512, 256, 3)
    with pytest.raises(InputError):
        autoencoder_kl.fit(np.zeros((5, 5, 3), np.uint8))


def test_evaluate_measures_bundled_photos(hub_registry):
    m = autoencoder_kl.evaluate(hub_registry.get_model("sd-vae-ft-mse"), quick=True)
    assert set(m) == {"photo_psnr_y", "photo_ssim_y"} and np.isfinite(list(m.values())).all()
