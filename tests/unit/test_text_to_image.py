"""The hub text-to-image model, loaded from a cache in the hub's layout at the card's pinned revision
(a tiny pipeline of the same shape stands in for the 5 GB one)."""
import fnmatch
import json
import shutil

import numpy as np
import pytest
import torch

from playground import registry
from playground.cards import parse_card
from playground.errors import InputError
from playground.families import text_to_image
from tests.conftest import SHIPPED
from tests.unit.test_registry import hub_cache

CARD = parse_card("model_cards/sd-turbo.md")


def _tokenizer_files(folder):
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in letters:
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")


def tiny_pipeline(folder):
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    torch.manual_seed(0)
    UNet2DConditionModel(sample_size=8, block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
                         down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                         up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16,
                         attention_head_dim=2).save_pretrained(folder / "unet", safe_serialization=True)
    AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1, latent_channels=4,
                  norm_num_groups=4).save_pretrained(folder / "vae", safe_serialization=True)
    CLIPTextModel(CLIPTextConfig(vocab_size=60, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                 num_attention_heads=2, max_position_embeddings=77, projection_dim=16)
                  ).save_pretrained(folder / "text_encoder", safe_serialization=True)
    _tokenizer_files(folder / "tokenizer")
    CLIPTokenizer(str(folder / "tokenizer" / "vocab.json"), str(folder / "tokenizer" / "merges.txt"), model_max_length=77) \
        .save_pretrained(folder / "tokenizer")
    EulerDiscreteScheduler(timestep_spacing="trailing", steps_offset=1).save_pretrained(folder / "scheduler")
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))


TINY_MODELS = {CARD.id: SHIPPED}


@pytest.fixture(scope="module")
def hub_registry(tiny_registry):
    root = tiny_registry
    tiny_pipeline(root / "saved")
    cache = root / "hub"
    cache.mkdir()
    snap = hub_cache(cache, CARD.hub_repo, CARD.revision, {})
    shutil.copytree(root / "saved", snap, dirs_exist_ok=True)
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_HUB_CACHE", str(cache))
    patch.setenv("HF_HUB_OFFLINE", "1")
    yield registry.default()
    patch.undo()


def test_the_card_pins_a_revision_and_the_real_parameter_count():
    """SD 2.1's U-Net, the SD autoencoder and the OpenCLIP ViT-H text encoder, built on the meta device."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    assert CARD.is_hub and len(CARD.revision) == 40 and CARD.family == "text_to_image"
    with torch.device("meta"):
        parts = [UNet2DConditionModel(sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
                                      attention_head_dim=(5, 10, 20, 20), cross_attention_dim=1024,
                                      use_linear_projection=True),
                 AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                               up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4),
                 CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=1024, intermediate_size=4096,
                                              num_hidden_layers=23, num_attention_heads=16, hidden_act="gelu",
                                              max_position_embeddings=77, projection_dim=512))]
    assert sum(p.numel() for m in parts for p in m.parameters()) == CARD.params


def test_only_full_precision_safetensors_and_configs_are_fetched():
    patterns = registry.hub_patterns("text_to_image")
    wanted = ["model_index.json", "unet/diffusion_pytorch_model.safetensors", "tokenizer/merges.txt",
              "text_encoder/model.safetensors", "scheduler/scheduler_config.json"]
    unwanted = ["sd_turbo.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
                "text_encoder/pytorch_model.bin", "unet/diffusion_pytorch_model.bin", "pipeline.py"]
    assert all(any(fnmatch.fnmatch(f, p) for p in patterns) for f in wanted)
    assert not any(fnmatch.fnmatch(f, p) for f in unwanted for p in patterns)


def test_offline_without_a_cache_it_needs_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert registry.Registry().availability("sd-turbo") == registry.NEEDS_NETWORK


def test_loads_from_the_hub_cache_and_draws_seeded_pictures(hub_registry):
    assert hub_registry.availability("sd-turbo") == "cached"
    model = hub_registry.get_model("sd-turbo")
    a = text_to_image.generate(model, "a red fox", 3, 1, 256)
    b = text_to_image.generate(model, "a red fox", 3, 1, 256)
    assert a.shape == (256, 256, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, text_to_image.generate(model, "a red fox", 4, 1, 256))


@pytest.mark.parametrize("prompt, steps, size", [("", 1, 256), ("x" * 301, 1, 256), ("a NUDE figure", 1, 256),
                                                 ("a fox", 0, 256), ("a fox", 5, 256), ("a fox", 1.5, 256),
                                                 ("a fox", 1, 300), (None, 1, 256)])
def test_bad_requests_get_clear_messages(hub_registry, prompt, steps, size):
    with pytest.raises(InputError):
        text_to_image.generate(hub_registry.get_model("sd-turbo"), prompt, 0, steps, size)


def test_the_diffusion_tab_draws_through_it(hub_registry):
    from playground.actions import diffusion as actions
    image, text = actions.text_to_image("sd-turbo", "a red fox", 1, 256, 5)
    assert image.shape == (256, 256, 3) and text.startswith("256x256, 1 step, seed 5")
    for bad in (("sd-turbo", "a fox", 1, 200, 0), ("sd-turbo", "a fox", 9, 256, 0), ("other", "a fox", 1, 256, 0)):
        with pytest.raises(InputError):
            actions.text_to_image(*bad)


def test_a_family_asking_for_pickles_is_refused(monkeypatch):
    from playground.errors import ModelUnavailable
    monkeypatch.setattr(text_to_image, "HUB_PATTERNS", ["unet/*.bin"])
    with pytest.raises(ModelUnavailable, match="other than json"):
        registry.hub_patterns("text_to_image")
