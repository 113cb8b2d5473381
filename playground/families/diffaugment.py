"""What training the GAN adds to its networks: DiffAugment (Zhao et al. 2020) and the hinge losses.

The discriminator only ever sees augmented images, real and fake alike (same policy, independent
draws); the augmentations are differentiable, so the generator learns through them.
playground.families.gan re-exports these names (playground.train.gan calls gan.diff_augment).
"""
import torch
import torch.nn.functional as F

from ..errors import InputError

POLICY = "translation,cutout,color"


def diff_augment(x, generator, policy=POLICY):
    """Differentiable augmentation of images in [-1, 1] (N x C x H x W), drawn from `generator`.

    color: brightness +-0.5 and contrast x0.5..1.5 (grey images: no saturation);
    translation: shift by up to 1/8 of the side, zero padding; cutout: a zeroed square of half the side.
    """
    n, _, h, w = x.shape
    rand = lambda *shape: torch.rand(*shape, generator=generator).to(x.device)  # noqa: E731
    for p in policy.split(","):
        if p == "color":
            x = x + (rand(n, 1, 1, 1) - 0.5)
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * (rand(n, 1, 1, 1) + 0.5) + mean
        elif p == "translation":
            sh, sw = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
            ty = (rand(n) * (2 * sh + 1)).long() - sh
            tx = (rand(n) * (2 * sw + 1)).long() - sw
            rows = (torch.arange(h, device=x.device)[None] + ty[:, None] + sh)[:, :, None]   # n x h x 1
            cols = (torch.arange(w, device=x.device)[None] + tx[:, None] + sw)[:, None, :]   # n x 1 x w
            padded = F.pad(x, (sw, sw, sh, sh))
            x = padded[torch.arange(n, device=x.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
        elif p == "cutout":
            ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
            oy = (rand(n) * (h + 1 - ch % 2)).long() - ch // 2
            ox = (rand(n) * (w + 1 - cw % 2)).long() - cw // 2
            ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
            in_y = (ys[None] >= oy[:, None]) & (ys[None] < oy[:, None] + ch)
            in_x = (xs[None] >= ox[:, None]) & (xs[None] < ox[:, None] + cw)
            x = x * ~(in_y[:, :, None] & in_x[:, None, :])[:, None]
        elif p:
            raise InputError(f"Unknown DiffAugment policy {p!r}: use translation, cutout and color.")
    return x


def hinge_d_loss(real_scores, fake_scores):
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def hinge_g_loss(fake_scores):
    return -fake_scores.mean()
