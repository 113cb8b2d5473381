"""The second feature network of each data set: trained without labels, a second opinion on rankings.

features.py's FeatureNet is a classifier (Fashion-MNIST's 10 classes, ORL's 40 people): its features are
what tells those classes apart, and on the faces that is identity, which clusters per person and is
brittle to blur. ContrastiveNet differs in design, objective and read-out:

- design: a residual network with GroupNorm and SiLU (no BatchNorm, so a feature never depends on the
  batch) and strided convolutions instead of max pooling;
- objective: SimCLR's NT-Xent (Chen et al. 2020): two random views of one image (crops, flips, small
  rotations, brightness and contrast) must be closer to each other than to every other image of the
  batch. No labels are used. The loss is computed on a training head (the deeper stages, statistics
  pooling of every stage, a linear layer and a projection) that is dropped once trained (without_head),
  as SimCLR drops its projector;
- read-out: the features are the first stage's activations (16x16 for the faces, 14x14 for
  Fashion-MNIST) averaged over each quarter of the picture (a 2x2 grid), projected on their `feature_dim`
  principal components among the training images (fit_readout; mean and components are buffers, so they
  ship in model.safetensors). Mid-level, coarsely placed features describe what each region of a face or
  a garment looks like (edges, texture, how much detail) rather than who or which class it is: the deepest
  features, trained to ignore the views' differences, rated shapeless blobs as face-like (docs/decisions.md).

It is built through features.build(config) with config["design"] == DESIGN and used through the same
functions as FeatureNet: features.features(model, images) returns [N, feature_dim].
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import datasets
from ..errors import InputError

DESIGN = "contrastive"


def _norm(c):
    return nn.GroupNorm(min(8, c // 4) or 1, c)



def as_batch(images, in_channels, size, device):
    """uint8-valued images (N,H,W), (N,C,H,W) or (N,H,W,C) -> float (N,C,size,size) in -1..1 on device (both
    feature networks read images this way)."""
    x = images if torch.is_tensor(images) else torch.from_numpy(np.array(images))  # a writable copy
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4:
        raise InputError(f"Expected a batch of grey images (N,H,W), not shape {tuple(x.shape)}.")
    if x.shape[1] != in_channels and x.shape[-1] == in_channels:
        x = x.permute(0, 3, 1, 2)
    x = x.to(device, torch.float32) / 127.5 - 1
    if x.shape[-2:] != (size, size):  # features() fits with PIL first
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_norm(c), nn.SiLU(), nn.Conv2d(c, c, 3, 1, 1), _norm(c), nn.SiLU(),
                                  nn.Conv2d(c, c, 3, 1, 1))

    def forward(self, x):
        return x + self.body(x)


class ContrastiveNet(nn.Module):
    """stem (stride 2 from 48 pixels up), stages of [GroupNorm, SiLU, strided conv, residual block] down to 8x8
    or less. features(): stage `readout_stage`'s output averaged on a readout_grid x readout_grid grid, minus
    its mean, times the principal components (buffers). With head=True (training) it also has a last residual
    block, statistics pooling (mean and std per channel of the stem and every stage) into head_dim, and a
    projection (ReLU, Linear -> proj_dim) that forward() returns for the loss."""

    has_head = False  # no class head: features.classify refuses it, default_action shows nearest neighbours

    def __init__(self, in_channels=1, width=24, feature_dim=64, image_size=64, dataset=datasets.ORL.key,
                 readout_stage=1, readout_grid=2, head=True, head_dim=64, proj_dim=64, design=DESIGN):
        super().__init__()
        if design != DESIGN:
            raise InputError(f"ContrastiveNet is the {DESIGN!r} design, not {design!r}.")
        self.in_channels, self.feature_dim = in_channels, feature_dim
        self.image_size, self.dataset = image_size, dataset
        self.num_classes, self.readout_stage, self.readout_grid = 0, readout_stage, readout_grid
        size, stride = image_size, 1
        if size >= 48:
            size, stride = (size + 1) // 2, 2
        self.stem = nn.Conv2d(in_channels, width, 3, stride, 1)
        stages, c, widths = [], width, [width]
        while size > 8 and (head or len(stages) < readout_stage):
            c_out = width * 2 ** min(len(stages) + 1, 2)
            stages.append(nn.Sequential(_norm(c), nn.SiLU(), nn.Conv2d(c, c_out, 3, 2, 1), ResBlock(c_out)))
            c, size = c_out, (size + 1) // 2
            widths.append(c)
        if readout_stage > len(stages):
            raise InputError(f"A {image_size}-pixel ContrastiveNet has {len(stages)} stages, not {readout_stage}.")
        self.stages = nn.ModuleList(stages)
        readout = widths[readout_stage] * readout_grid ** 2
        if not 0 < feature_dim <= readout:
            raise InputError(f"feature_dim must be 1..{readout} (the read-out's size), not {feature_dim}.")
        self.register_buffer("readout_mean", torch.zeros(readout))
        self.register_buffer("readout_components", torch.eye(feature_dim, readout))
        self.head = head
        if head:
            self.last = nn.Sequential(ResBlock(c), _norm(c), nn.SiLU())
            self.head_feature = nn.Linear(2 * sum(widths), head_dim)
            self.projector = nn.Sequential(nn.ReLU(), nn.Linear(head_dim, proj_dim))

    def prepare(self, images):
        return as_batch(images, self.in_channels, self.image_size, self.stem.weight.device)

    def readout(self, images):
        """The read-out before projection: [N, channels * grid^2]."""
        h = self.stem(self.prepare(images))
        for stage in self.stages[:self.readout_stage]:
            h = stage(h)
        return F.adaptive_avg_pool2d(h, self.readout_grid).flatten(1)

    def features(self, images):
        return (self.readout(images) - self.readout_mean) @ self.readout_components.T

    def forward(self, images):
        """The training head's projection, L2-normalised [N, proj_dim] (the loss is computed on it)."""
        if not self.head:
            raise InputError("This ContrastiveNet was shipped without its training head: use features().")
        h = self.stem(self.prepare(images))
        taps = [h]
        for stage in self.stages:
            h = stage(h)
            taps.append(h)
        taps[-1] = self.last(h)
        pooled = torch.cat([t.mean((2, 3)) for t in taps] + [t.flatten(2).std(2) for t in taps], 1)
        return F.normalize(self.projector(self.head_feature(pooled)), dim=1)

    @torch.no_grad()
    def fit_readout(self, images, batch=500):
        """Set the read-out's mean and principal components from these (training) images, each component's
        largest entry positive (so that the same weights give the same features)."""
        was_training = self.training
        self.eval()
        raw = torch.cat([self.readout(images[i:i + batch]).double().cpu() for i in range(0, len(images), batch)])
        self.train(was_training)
        mean = raw.mean(0)
        _, _, vt = torch.linalg.svd(raw - mean, full_matrices=False)
        comps = vt[:self.feature_dim]
        comps = comps * torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))
        self.readout_mean.copy_(mean.float())
        self.readout_components.copy_(comps.float())

    def without_head(self, config):
        """(config, model) of the network as shipped: the stages up to the read-out and its buffers only."""
        config = dict(config, head=False)
        slim = ContrastiveNet(**config).to(self.stem.weight.device)
        state = self.state_dict()
        slim.load_state_dict({k: v for k, v in state.items() if k in slim.state_dict()}, strict=True)
        return config, slim.eval()


def nt_xent(z1, z2, temperature):
    """SimCLR's loss of two L2-normalised views [B, D]: each view's partner is the positive among the 2B - 1
    others -> (loss, top-1 accuracy of finding the partner)."""
    z = torch.cat([z1, z2])
    n = len(z1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, target), (logits.argmax(1) == target).float().mean()
