"""Port the pretrained @upscalerjs/esrgan-slim weights (MIT, Kevin Scott) to safetensors.

    cd /tmp && npm pack @upscalerjs/esrgan-slim@1.0.0        # -> upscalerjs-esrgan-slim-1.0.0.tgz
    python -m playground.convert_esrgan_slim /tmp/upscalerjs-esrgan-slim-1.0.0.tgz --scale 4

Reads models/x<scale>/model.json (a TensorFlow.js "layers-model": the Keras topology and a weights
manifest) and its float32 shards from the tarball, maps each Keras kernel (H, W, in, out) to the
torch layer of families.superres.ESRGANSlim (out, in, H, W), and writes weights/esrgan-slim-x<scale>/:
model.safetensors, config.json and keras_model.json (the Keras topology, kept so that the numpy
reference in tests/unit/test_esrgan_slim.py can run the original graph on the ported weights).
The app reads only the safetensors.
"""
import argparse
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
import torch

from .cards import REPO_ROOT, update
from .families import superres
from .registry import save_weights
from .train.superres_card import port_template

PACKAGE = "@upscalerjs/esrgan-slim"
VERSION = "1.0.0"


def keras_to_torch_name(name):
    """A Keras layer name of the model -> the torch module path in ESRGANSlim."""
    fixed = {"F_m1": "f_m1", "F_0": "f_0", "GFF_1": "gff1", "GFF_2": "gff2", "UPN1": "upn1", "UPN2": "upn2",
             "UPN3": "upn3", "SR": "sr"}
    if name in fixed:
        return fixed[name]
    if m := re.fullmatch(r"F_(\d+)_(\d+)", name):  # block d, layer c (1-based)
        return f"dense.{int(m.group(1)) - 1}.{int(m.group(2)) - 1}"
    if m := re.fullmatch(r"LFF_(\d+)", name):
        return f"lff.{int(m.group(1)) - 1}"
    raise ValueError(f"unexpected Keras layer {name!r}")


def read_package(tgz, scale):
    """(model.json dict, {keras weight name: float32 array}, licence text, sha256 of the tarball)."""
    data = Path(tgz).read_bytes()
    with tarfile.open(tgz, "r:gz") as tar:
        def read(member):
            return tar.extractfile(f"package/{member}").read()
        model = json.loads(read(f"models/x{scale}/model.json"))
        licence = read("LICENSE").decode()
        package = json.loads(read("package.json"))
        weights = {}
        for group in model["weightsManifest"]:
            blob = b"".join(read(f"models/x{scale}/{p}") for p in group["paths"])
            offset = 0
            for w in group["weights"]:
                if w["dtype"] != "float32" or "quantization" in w:
                    raise ValueError(f"unexpected weight encoding for {w['name']}")
                n = int(np.prod(w["shape"]))
                weights[w["name"]] = np.frombuffer(blob, "<f4", n, offset).reshape(w["shape"]).copy()
                offset += 4 * n
            if offset != len(blob):
                raise ValueError(f"the shards hold {len(blob)} bytes, the manifest {offset}")
    if package.get("license") != "MIT" or "MIT License" not in licence:
        raise ValueError("the package is not MIT-licensed; refusing to convert")
    return model, weights, package["version"], hashlib.sha256(data).hexdigest()


def config_from(model, scale):
    """ESRGANSlim's constructor kwargs from the Keras topology."""
    layers = {layer["name"]: layer for layer in model["modelTopology"]["model_config"]["config"]["layers"]}
    blocks = len([n for n in layers if re.fullmatch(r"LFF_\d+", n)])
    per_block = len([n for n in layers if re.fullmatch(r"F_1_\d+", n)])
    return {"arch": "esrgan-slim", "scale": scale, "channels": layers["F_0"]["config"]["filters"],
            "growth": layers["F_1_1"]["config"]["filters"], "blocks": blocks, "layers": per_block}


def state_dict_from(weights):
    """Keras weights -> torch state dict (kernels HWIO -> OIHW)."""
    state = {}
    for name, array in weights.items():
        layer, kind = name.rsplit("/", 1)
        target = keras_to_torch_name(layer)
        if kind == "kernel":
            state[f"{target}.weight"] = torch.from_numpy(np.ascontiguousarray(array.transpose(3, 2, 0, 1)))
        elif kind == "bias":
            state[f"{target}.bias"] = torch.from_numpy(array)
        else:
            raise ValueError(f"unexpected weight {name!r}")
    return state


def convert(tgz, scale, root=REPO_ROOT):
    """Write weights/esrgan-slim-x<scale>/ from the tarball; returns (folder, config, details)."""
    model_json, weights, version, sha = read_package(tgz, scale)
    config = config_from(model_json, scale)
    net = superres.build(config)
    net.load_state_dict(state_dict_from(weights), strict=True)
    folder = Path(root) / "weights" / f"esrgan-slim-x{scale}"
    save_weights(folder, net, config)
    topology = {"source": f"{PACKAGE}@{version} models/x{scale}/model.json", "tarball_sha256": sha,
                "modelTopology": model_json["modelTopology"]}
    (folder / "keras_model.json").write_text(json.dumps(topology, indent=1) + "\n")
    params = sum(p.numel() for p in net.parameters())
    card = Path(root) / "model_cards" / f"esrgan-slim-x{scale}.md"  # its prose is people's once it exists
    written = update(card, params=params, draft=port_template(scale, params, version, sha))
    return folder, config, {"version": version, "sha256": sha, "params": params, "notes": written.notes()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tarball", help=f"the file `npm pack {PACKAGE}@{VERSION}` downloads")
    ap.add_argument("--scale", type=int, choices=(2, 4), default=4)
    args = ap.parse_args(argv)
    folder, config, details = convert(args.tarball, args.scale)
    print(f"wrote {folder} ({details['params']:,} parameters, {config}) from {PACKAGE}@{details['version']} "
          f"(sha256 {details['sha256']})", *details["notes"], sep="; ", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
