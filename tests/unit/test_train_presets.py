"""The training commands' presets are data (playground/train/presets/<family>/<name>.json) and their card
drafts Markdown (playground/train/drafts/<id>.md): the files hold what the presets in code held, every
draft formats completely, and no data-set name is written in the commands' code."""
import json
import re
from pathlib import Path

import pytest

from playground import datasets
from playground.cards import REPO_ROOT
from playground.train import diffusion, features, files, gan, pixelcnn, style, superres, vae

TRAIN = Path(files.__file__).parent


def test_the_preset_files_hold_the_values_the_commands_trained_with():
    """A few values of each family's presets, as they were in code (style's are checked whole in test_style)."""
    g = gan.PRESETS
    assert (g["orl-faces"]["steps"], g["orl-faces"]["batch_size"], g["orl-faces"]["lr"]) == (16000, 32, 2e-4)
    assert g["orl-faces"]["config"] == dict(latent_dim=128, g_width=32, d_width=32, image_size=64, channels=1)
    assert (g["fashion-mnist"]["steps"], g["fashion-mnist"]["betas"], g["fashion-mnist"]["augment"],
            g["fashion-mnist"]["flip"]) == (9000, [0.0, 0.9], "", False)
    assert g["fashion-mnist"]["config"] == dict(latent_dim=128, g_width=48, d_width=48, image_size=32, channels=1,
                                                num_classes=10, output_size=28, dataset="fashion-mnist")
    assert gan.DEFAULT == "orl-faces" and gan.MODEL_IDS == {"orl-faces": "gan-faces", "fashion-mnist": "gan-fashion"}
    f = features.PRESETS
    assert features.DEFAULT == "fashion-mnist"
    assert [(p["model_id"], p["steps"], p["batch_size"], p["lr"], p["config"]["width"], p["augment"])
            for p in f.values()] == [("features-fashion", 3000, 128, 3e-3, 16, "crop_flip"),
                                     ("features-orl", 4000, 32, 2e-3, 24, "face_jitter")]
    assert features.AUGMENTS[f["orl-faces"]["augment"]] is features.face_jitter
    v = vae.PRESETS
    assert {k: (p["steps"], p["batch_size"], p["lr"]) for k, p in v.items()} == {
        "fashion": (4000, 64, 2e-3), "fashion-2d": (3000, 64, 2e-3), "fashion-holdout": (3000, 64, 2e-3),
        "faces": (2000, 32, 1e-3)}
    assert v["fashion-2d"]["config"] == dict(latent_dim=2, width=16, image_size=28, mixtures=5,
                                             dataset="fashion-mnist", blocks=1)
    assert v["fashion-holdout"]["config"]["holdout_class"] == 8 and v["faces"]["flip"] is True
    p = pixelcnn.PRESETS
    assert p["fashion"]["config"] == dict(kind="gated", channels=48, layers=10, num_classes=10, image_size=28,
                                          mixtures=5, dataset="fashion-mnist")
    assert (p["masked-small"]["steps"], p["masked-small"]["config"]["layers"]) == (1500, 5)
    d = diffusion.PRESETS
    assert (d["fashion"]["steps"], d["fashion"]["warmup"], d["faces"]["steps"], d["faces"]["warmup"]) == (20000, 300, 15000, 200)
    # the shipped weights are the first pieces; the presets continue them (--warm-start)
    assert [w["step"] for w in d["fashion"]["warm_starts"] + d["faces"]["warm_starts"]] == [6000, 3000]
    assert d["faces"]["config"]["sampler"] == "Euler ancestral" and d["faces"]["config"]["block_out_channels"] == [32, 48, 64, 64]
    assert diffusion.FASHION == dict(sample_size=32, block_out_channels=[32, 64, 64], layers_per_block=1,
                                     num_classes=10, dataset="fashion-mnist", pad=2, guidance=0.8)
    shipped = json.loads((REPO_ROOT / "weights" / "ddpm-fashion" / "playground.json").read_text())
    assert shipped["guidance"] == diffusion.FASHION["guidance"]  # the shipped default is the preset's (docs/decisions.md)
    s = superres.PRESETS
    assert {k: (q["steps"], q["patch"], q["config"]["scale"]) for k, q in s.items()} == {
        "fast-x4": (1500, 96, 4), "fast-x2": (1500, 64, 2), "edsr-x4": (8000, 64, 4), "edsr-x2": (1000, 48, 2)}
    assert s["edsr-x2"]["init_from"] == "sr-edsr-x4"


def test_every_preset_names_a_draft_that_exists_and_a_known_data_set():
    for family in ("diffusion", "features", "gan", "pixelcnn", "style", "vae"):
        for name, preset in files.presets(family).items():
            assert (files.DRAFTS_DIR / f"{preset['draft']}.md").is_file(), (family, name)
            dataset = preset.get("config", {}).get("dataset")
            assert dataset is None or dataset in datasets.DATASETS, (family, name, dataset)
    with pytest.raises(FileNotFoundError):
        files.presets("no-such-family")


def test_every_draft_formats_completely():
    """Each family's card_template fills every field of its drafts (the front matter's `metrics: {}` aside)."""
    drafts = [gan.card_template(1234, 256, dataset=ds, betas=p.get("betas", gan.BETAS)) for ds, p in gan.PRESETS.items()]
    drafts += [features.card_template(ds, 1234) for ds in features.PRESETS]
    drafts += [vae.card_template(p["model_id"], k, p["config"], 1234, "cmd") for k, p in vae.PRESETS.items()]
    drafts += [pixelcnn.card_template(k, p["config"], 1234, "cmd") for k, p in pixelcnn.PRESETS.items()]
    drafts += [diffusion.card_template(k, p["config"], 1234) for k, p in diffusion.PRESETS.items()]
    drafts += [style.card_template(k, p["config"], 1234, command="cmd") for k, p in style.PRESETS.items()
               if style.is_loss(k)]
    assert len(drafts) == 2 + 2 + 4 + 2 + 2 + 2
    for text in drafts:
        body = text.split("---", 2)[2]
        assert "{" not in body and "}" not in body and "metrics: {}" in text and "params: 1234" in text
    assert "dataset: fashion-mnist" in drafts[0] and "dataset: orl-faces" in drafts[1]  # presets in name order


def test_no_data_set_name_is_written_in_the_training_commands_code():
    """Data-set names live in the preset files (and the --dataset aliases of loop.ALIASES)."""
    names = "|".join(re.escape(k) for k in datasets.DATASETS)
    quoted = re.compile(rf"[\"']({names})[\"']")
    found = [f"{path.name}:{n}" for path in sorted(TRAIN.glob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if quoted.search(line) and not line.startswith("ALIASES = ")]
    assert found == []
