"""The ESRGAN-slim port is faithful: the original Keras graph, run layer by layer in plain numpy on
the committed weights, gives what the torch module gives; and the conversion script reproduces the
committed safetensors and the package's own sample outputs when the npm tarball is at hand."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground import registry
from playground.cards import REPO_ROOT
from playground.convert_esrgan_slim import keras_to_torch_name
from playground.families import superres

torch.set_num_threads(1)
TARBALL = Path(os.environ.get("ESRGAN_SLIM_TGZ", "/tmp/esr/upscalerjs-esrgan-slim-1.0.0.tgz"))
SCALES = [s for s in (2, 4) if (REPO_ROOT / "weights" / f"esrgan-slim-x{s}" / "model.safetensors").is_file()]


def conv2d(x, kernel, bias, padding):
    """Keras Conv2D, stride 1, NHWC; kernel (kh, kw, in, out); padding 'same' (zeros) or 'valid'."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = np.pad(x, ((0, 0), (kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2), (0, 0)))
    h, w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], h, w, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += x[:, i:i + h, j:j + w, :] @ kernel[i, j]
    return out + bias


def keras_forward(topology, weights, x):
    """Run a Keras functional model's layers (InputLayer, Conv2D, Activation, Concatenate, Add,
    UpSampling2D) in numpy, float64, NHWC."""
    outputs = {}
    config = topology["model_config"]["config"]
    for layer in config["layers"]:
        kind, name, c = layer["class_name"], layer["name"], layer["config"]
        inputs = [outputs[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if kind == "InputLayer":
            y = x
        elif kind == "Conv2D":
            assert c["strides"] == [1, 1] and c["dilation_rate"] == [1, 1] and c["activation"] == "linear"
            y = conv2d(inputs[0], weights[f"{name}/kernel"], weights[f"{name}/bias"], c["padding"])
        elif kind == "Activation":
            assert c["activation"] == "relu"
            y = np.maximum(inputs[0], 0)
        elif kind == "Concatenate":
            assert c["axis"] in (3, -1)
            y = np.concatenate(inputs, axis=3)
        elif kind == "Add":
            y = sum(inputs)
        elif kind == "UpSampling2D":
            assert c["interpolation"] == "nearest"
            y = inputs[0].repeat(c["size"][0], axis=1).repeat(c["size"][1], axis=2)
        else:
            raise AssertionError(f"layer kind {kind} is not in the reference")
        outputs[name] = y
    (out_name, _, _), = config["output_layers"]
    return outputs[out_name]


def keras_weights(model, topology):
    """The torch module's tensors under their Keras names, kernels back to (kh, kw, in, out)."""
    state = model.state_dict()
    weights = {}
    for layer in topology["model_config"]["config"]["layers"]:
        if layer["class_name"] == "Conv2D":
            target = keras_to_torch_name(layer["name"])
            weights[f"{layer['name']}/kernel"] = state[f"{target}.weight"].double().numpy().transpose(2, 3, 1, 0)
            weights[f"{layer['name']}/bias"] = state[f"{target}.bias"].double().numpy()
    return weights


@pytest.mark.parametrize("scale", SCALES)
def test_numpy_reference_matches_torch_module(scale):
    folder = REPO_ROOT / "weights" / f"esrgan-slim-x{scale}"
    model = registry.load_weights(folder, superres.build).eval()
    topology = json.loads((folder / "keras_model.json").read_text())["modelTopology"]
    x = np.random.default_rng(0).uniform(0, 255, (1, 9, 11, 3))
    reference = keras_forward(topology, keras_weights(model, topology), x)
    with torch.no_grad():
        ours = model(torch.from_numpy(x / 255.0).permute(0, 3, 1, 2).float()).permute(0, 2, 3, 1).double().numpy()
    assert reference.shape == (1, 9 * scale, 11 * scale, 3)
    np.testing.assert_allclose(ours * 255.0, reference, atol=0.02)


def test_every_keras_weight_has_a_torch_home():
    topology = json.loads((REPO_ROOT / "weights" / "esrgan-slim-x4" / "keras_model.json").read_text())
    model = registry.load_weights(REPO_ROOT / "weights" / "esrgan-slim-x4", superres.build)
    names = set(keras_weights(model, topology["modelTopology"]))
    assert len(names) == len(model.state_dict())


@pytest.mark.skipif(not TARBALL.is_file(), reason=f"no npm tarball at {TARBALL} (set ESRGAN_SLIM_TGZ; "
                    "`npm pack @upscalerjs/esrgan-slim@1.0.0` downloads it)")
@pytest.mark.parametrize("scale", SCALES)
def test_conversion_reproduces_weights_and_package_samples(tmp_path, scale):
    import tarfile

    from safetensors.torch import load_file

    from playground.convert_esrgan_slim import convert
    folder, _, _ = convert(TARBALL, scale, root=tmp_path)
    ours = load_file(str(folder / "model.safetensors"))
    committed = load_file(str(REPO_ROOT / "weights" / f"esrgan-slim-x{scale}" / "model.safetensors"))
    assert ours.keys() == committed.keys() and all(torch.equal(ours[k], committed[k]) for k in ours)
    with tarfile.open(TARBALL) as tar:
        fixture = np.asarray(Image.open(tar.extractfile("package/assets/fixture.png")).convert("RGB"))
        sample = np.asarray(Image.open(tar.extractfile(f"package/assets/samples/{scale}x/result.png")).convert("RGB"))
    model = registry.load_weights(folder, superres.build).eval()
    with torch.no_grad():
        out = superres.to_image(model(superres.to_tensor(fixture)))
    assert np.abs(out.astype(int) - sample).max() <= 1  # the package's own output, up to rounding
