"""VGG-19 as a style loss network (Simonyan and Zisserman 2014; Gatys et al. 2016), without timm or torchvision.

The hub card style-loss-vgg19 loads torchvision's ImageNet weights in timm's layout (timm/vgg19.tv_in1k,
model.safetensors): the convolutions are `features.<n>.weight/bias` at the indices of torchvision's
`nn.Sequential` (conv, ReLU, conv, ReLU, max-pool, ...). Only the layers up to relu5_1 are built and
only their tensors are read; the classifier (`pre_logits.*`, `head.*`) and the deeper convolutions are
ignored. The module plugs into the same interface as families.style.LossNet: forward([0, 1] images)
returns a list of feature maps, names(), style_branches() and content_branches() index that list.

Style is read at relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1, content at relu4_2 (Gatys et al. 2016).
Gatys normalised the network so that every filter's mean activation on images is one; here each tapped
channel is divided by its root-mean-square on the bundled photos (buffer `rms`, set by calibrate() when
the weights are loaded), as in the random loss network, so that the tab's weights mean the same for both.
"""
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from ..errors import ModelUnavailable
from ..registry import weights_file

# torchvision's configuration "E": channels of each 3x3 convolution, "M" for a 2x2 max-pool
CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet, as torchvision and timm normalise
CALIBRATION_SIZE = 128  # crops the channel scales are measured on (tests make it smaller)


def channel_rms(feats):
    """Every channel's root-mean-square over a list of feature maps, concatenated (C_total,), with a floor of
    a tenth of the median (dead channels would blow the losses up): the loss networks' calibration (this
    network's and families.style.LossNet's)."""
    rms = torch.cat([f.pow(2).mean((0, 2, 3)).sqrt() for f in feats])
    return rms.clamp_min(0.1 * float(rms.median()))


def layer_names():
    """{index in `features`: 'relu<block>_<n>'} for every ReLU of configuration E."""
    names, index, block, n = {}, 0, 1, 0
    for v in CFG:
        if v == "M":
            index, block, n = index + 1, block + 1, 0
        else:
            n += 1
            names[index + 1] = f"relu{block}_{n}"
            index += 2
    return names


class VGG19Loss(nn.Module):
    """VGG-19's convolutions up to the deepest tapped ReLU; ImageNet normalisation inside."""

    def __init__(self, style_layers=STYLE_LAYERS, content_layers=CONTENT_LAYERS):
        super().__init__()
        self.style_layers, self.content_layers = tuple(style_layers), tuple(content_layers)
        self.taps = list(self.style_layers) + [n for n in self.content_layers if n not in self.style_layers]
        index_of = {name: i for i, name in layer_names().items()}
        unknown = [n for n in self.taps if n not in index_of]
        if unknown:
            raise ValueError(f"VGG-19 has no layer {unknown}; it has {', '.join(index_of)}")
        self.tap_index = [index_of[n] for n in self.taps]
        layers, channels = [], 3
        for v in CFG:
            if len(layers) > max(self.tap_index):
                break
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU()]
                channels = v
        self.features = nn.Sequential(*layers[:max(self.tap_index) + 1])
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("rms", torch.ones(sum(self._channels(i) for i in self.tap_index)), persistent=False)

    def _channels(self, index):
        return next(m.out_channels for m in reversed(self.features[:index + 1]) if isinstance(m, nn.Conv2d))

    def names(self):
        return list(self.taps)

    def style_branches(self):
        return [i for i, n in enumerate(self.taps) if n in self.style_layers]

    def content_branches(self):
        return [i for i, n in enumerate(self.taps) if n in self.content_layers]

    def forward(self, x):
        """[0, 1] images (N,3,H,W) -> the tapped ReLU maps, each channel divided by its rms."""
        x = (x - self.mean) / self.std
        raw, wanted = {}, set(self.tap_index)
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in wanted:
                raw[i] = x
        out, start = [], 0
        for i in self.tap_index:
            c = raw[i].shape[1]
            out.append(raw[i] / self.rms[start:start + c].view(1, -1, 1, 1))
            start += c
        return out

    @torch.no_grad()
    def calibrate(self, images):
        """Set `rms` from [0, 1] images (N,3,H,W), with a floor of a tenth of the median (dead channels)."""
        self.rms.fill_(1)
        self.rms.copy_(channel_rms(self(images)))


def load_timm(folder):
    """A VGG19Loss from a hub snapshot of timm's vgg19 (model.safetensors in timm's key layout): only the
    `features.*` tensors the module has are read (lazily: the classifier's 400 MB stay on disk); a missing
    tensor or a wrong shape is refused with a message naming it. The channel scales are left at one: the caller
    calibrates them (families.style.load, on the bundled photos, at CALIBRATION_SIZE)."""
    path = weights_file(Path(folder))
    net = VGG19Loss()
    wanted = net.state_dict()
    state = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
            for key, target in wanted.items():
                if key not in keys:
                    missing = sum(k not in keys for k in wanted)
                    raise ModelUnavailable(f"{path} is not VGG-19 in timm's layout: it has no {key} ({missing} of "
                                           f"the {len(wanted)} tensors needed are missing).")
                tensor = f.get_tensor(key)
                if tuple(tensor.shape) != tuple(target.shape) or not tensor.is_floating_point():
                    raise ModelUnavailable(f"{path}: {key} has shape {tuple(tensor.shape)} ({tensor.dtype}); "
                                           f"VGG-19 needs {tuple(target.shape)} floats.")
                state[key] = tensor.float()
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelUnavailable(f"{path} is not a readable safetensors file ({e}); nothing else is loaded.") from None
    net.load_state_dict(state, strict=True)
    return net.eval()


def is_timm_vgg19(folder):
    """Whether a folder's config.json is timm's for vgg19 (a hub snapshot) rather than one of ours."""
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("architecture") == "vgg19" and "kind" not in config
