"""python -m playground.guidance_sweep on a tiny untrained UNet: every scale scored on both networks, the pixel
statistics right, a training run's EMA weights used when asked."""
import numpy as np
import torch

from playground import guidance_sweep
from tests.conftest import SHIPPED
from tests.unit.test_diffusion_actions import tiny_unet

TINY_MODELS = {"ddpm-tiny": tiny_unet(), "features-fashion": SHIPPED, "features-fashion-ssl": SHIPPED}


def test_pixel_stats_count_near_white_pixels():
    images = np.zeros((2, 4, 4), np.uint8)
    images[0, 0, :] = 255  # 4 of 32 pixels white
    images[1, 0, 0] = 240  # 240/255 = 0.941: not near-white
    stats = guidance_sweep.pixel_stats(images)
    assert stats["near-white share"] == 0.125 and abs(stats["mean grey"] - (4 * 255 + 240) / 32 / 255) < 1e-4


def test_each_scale_is_scored_on_both_networks_and_a_checkpoint_is_read(tiny_registry, tmp_path, monkeypatch):
    drawn, draw = [], guidance_sweep.diffusion.generate_balanced
    monkeypatch.setattr(guidance_sweep.diffusion, "generate_balanced",
                        lambda model, n, seed, sampler, steps, g: drawn.append((n, sampler, g)) or draw(
                            model, n, seed, sampler, steps, g))
    rows = guidance_sweep.sweep("ddpm-tiny", [1.0, 3.0], 20)
    assert drawn == [(20, "DPM-Solver++", 1.0), (20, "DPM-Solver++", 3.0)]  # the model's sampler, each scale
    assert [r["guidance"] for r in rows] == ["real", 1.0, 3.0]
    for r in rows[1:]:
        assert r["FD"] > 0 and r["FD (2nd net)"] > 0 and "KD s.e. (2nd net)" in r and 0 <= r["near-white share"] <= 1
    assert 0.005 < rows[0]["near-white share"] < 0.05 and rows[0]["mean grey"] > 0.2  # Fashion-MNIST's own pixels
    text = guidance_sweep.markdown(rows, "ddpm-tiny", 20)
    header = text.splitlines()[2]
    assert header.startswith("| guidance | mean grey | near-white share | FD |") and "| FD (2nd net) |" in header
    assert "\n| real | " in text and text.startswith("ddpm-tiny, its shipped weights: N = 20")
    unet = guidance_sweep.from_checkpoint("ddpm-tiny", _checkpoint(tmp_path)).unet
    assert all(float(p.abs().max()) == 0 for p in unet.parameters())


def _checkpoint(tmp_path):
    """A checkpoint whose EMA weights are all zeros (as the training loop writes it: {"ema": {"unet": ...}})."""
    from playground.train import diffusion as train
    unet = train.build_unet(dict(train.FASHION, block_out_channels=(8, 8, 8)))
    path = tmp_path / "checkpoint.pt"
    torch.save({"step": 1, "ema": {"unet": {k: torch.zeros_like(v) for k, v in unet.state_dict().items()}}}, path)
    return path
