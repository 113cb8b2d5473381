"""The style family's loss network and its terms: LossNet (one layer of random filters on an image pyramid),
Gram matrices, the style, content, structure, luminance, SSIM and total-variation terms, and the images'
way in and out (uint8 HxWx3 outside, float (N,3,H,W) in [0, 1] inside). families.style re-exports them.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..quality import ssim_map, y_of
from .style_vgg import channel_rms


# ---------------------------------------------------------------------------------------------------
# the loss network
class LossNet(nn.Module):
    """One layer of random filters (ReLU) per (scale, kernel size) on an average-pooled pyramid.

    Each output channel is divided by its root-mean-square on natural images (buffer `rms`), so
    channels weigh alike in the Gram matrices. Content is read from the branches at `content_scales`.
    """

    def __init__(self, seed=0, scales=(1, 2, 4), kernels=(3, 7), filters=64, content_scales=(2, 4)):
        super().__init__()
        self.scales, self.kernels = tuple(scales), tuple(kernels)
        self.filters, self.seed, self.content_scales = int(filters), int(seed), tuple(content_scales)
        g = torch.Generator().manual_seed(int(seed))
        self.convs = nn.ModuleList()
        for _ in self.scales:
            for k in self.kernels:
                conv = nn.Conv2d(3, filters, k, padding=k // 2, padding_mode="reflect", bias=False)
                bound = 1 / math.sqrt(3 * k * k)
                with torch.no_grad():
                    conv.weight.copy_(torch.rand(conv.weight.shape, generator=g) * 2 * bound - bound)
                self.convs.append(conv)
        self.register_buffer("rms", torch.ones(len(self.convs), filters))

    def names(self):
        return [f"scale 1/{s}, {k}x{k}" for s in self.scales for k in self.kernels]

    def style_branches(self):
        return list(range(len(self.convs)))

    def content_branches(self):
        return [i for i, (s, _) in enumerate((s, k) for s in self.scales for k in self.kernels)
                if s in self.content_scales]

    def forward(self, x):
        """[0, 1] images (N,3,H,W) -> a list of normalised feature maps, one per branch."""
        x = x - 0.5
        out, i = [], 0
        for s in self.scales:
            xs = F.avg_pool2d(x, s) if s > 1 else x
            for _ in self.kernels:
                out.append(F.relu(self.convs[i](xs)) / self.rms[i].view(1, -1, 1, 1))
                i += 1
        return out

    @torch.no_grad()
    def calibrate(self, images):
        """Set `rms` from [0, 1] images (N,3,H,W)."""
        self.rms.fill_(1)
        self.rms.copy_(channel_rms(self(images)).view_as(self.rms))


def gram(features):
    """(N,C,H,W) -> (N,C,C) channel correlations, averaged over positions."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def style_targets(net, style):
    """The style's Gram matrix at each of the net's style branches (None at the others)."""
    branches = set(net.style_branches())
    with torch.no_grad():
        return [gram(f) if i in branches else None for i, f in enumerate(net(style))]


def style_loss(feats, targets):
    pairs = [(f, t) for f, t in zip(feats, targets) if t is not None]
    return sum(F.mse_loss(gram(f), t.expand(len(f), -1, -1)) for f, t in pairs) / len(pairs)


def content_loss(feats, content_feats, branches):
    return sum(F.mse_loss(feats[i], content_feats[i]) for i in branches) / len(branches)


def structure_loss(x, y):
    """Mean squared difference of the standardised luminance of two image batches after a 5x5 blur: the
    photo's layout, whatever its colours and fine strokes (the fast networks' extra content term)."""
    def standard(z):
        lum = F.avg_pool2d(grey(z)[:, :1], 5, 1, 2)
        return (lum - lum.mean((2, 3), keepdim=True)) / (lum.std((2, 3), keepdim=True) + 1e-3)
    return F.mse_loss(standard(x), standard(y))


def ssim_loss(x, y):
    """1 - SSIM of the luminance of two (N,3,H,W) batches in 0..1, as playground.quality.ssim measures it (the
    same formula, run on tensors), differentiable."""
    a, b = [y_of(z.permute(0, 2, 3, 1) * 255.0) for z in (x, y)]
    return 1 - ssim_map(a, b).mean()


def grey(x):
    """(N,3,H,W) -> its luminance (BT.601) repeated on three channels."""
    return (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True).expand(-1, 3, -1, -1)


def luminance_content_loss(net, result, photo):
    """Content loss between the grey versions of result and photo on every branch of the loss network:
    edges and shading at every scale, none of the colour (a fast network's term: the network's own
    content term is mostly colour)."""
    feats = net(grey(result))
    with torch.no_grad():
        target = net(grey(photo))
    return content_loss(feats, target, range(len(feats)))


def tv_loss(x):
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


# ---------------------------------------------------------------------------------------------------
# images in and out
def to_float(image):
    """uint8 HxWx3 -> float (1,3,H,W) in [0, 1]."""
    return torch.from_numpy(np.array(image, np.float32)).div(255).permute(2, 0, 1)[None].contiguous()


def to_image(x):
    """float (1,3,H,W) in [0, 1] -> uint8 HxWx3."""
    x = torch.nan_to_num(x.detach()[0], nan=0.5).clamp(0, 1)
    return np.ascontiguousarray((x * 255).round().byte().permute(1, 2, 0).numpy())


def fitted_shape(h, w, size):
    """(height, width) of an h x w image after fit(image, size)."""
    scale = size / max(h, w)
    return max(4, round(h * scale / 4) * 4), max(4, round(w * scale / 4) * 4)


def fit(image, size):
    """uint8 HxWx3 scaled so that its longer side is `size` (a multiple of 4 on both sides)."""
    h, w = fitted_shape(*image.shape[:2], size)
    return np.asarray(Image.fromarray(image).resize((w, h), Image.LANCZOS))
