"""Cards are written by people (issue 24): commands write only the front matter's `metrics` and `params` and
the text between a card's markers (measured: evaluate --write; training-run: the training command). A hand
edit anywhere else survives a training run and `python -m playground.evaluate ID --write`."""
import re
import shutil
import sys
import types
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from playground import cards, evaluate, registry
from playground.cards import MEASURED_END, MEASURED_START, RUN_END, RUN_START
from playground.train import loop

HAND = """---
id: {id}
family: {family}
title: "Tiny, as a person titled it"   # a comment a person wrote
source: weights/{id}
revision: null
dataset: digits
license: 'MIT'
params: 1
resolution: 8x8
train_command: python -m playground.train.tiny
metrics: {{old: 1.0}}
metrics_command: python -m playground.evaluate {id} --write
---

# Tiny

Prose a person wrote, with a figure they typed: 42 cats.

## Training

How it is trained, in the author's words.

{run_start}
the old run
{run_end}

## Measured

{measured_start}
the old figures
{measured_end}

Closing words after the measured section.
"""


def hand_card(folder, model_id, family="cardtest", markers=True):
    text = HAND.format(id=model_id, family=family, run_start=RUN_START, run_end=RUN_END,
                       measured_start=MEASURED_START, measured_end=MEASURED_END)
    if not markers:
        text = text.replace(f"\n{RUN_START}\nthe old run\n{RUN_END}\n", "").replace(
            f"## Measured\n\n{MEASURED_START}\nthe old figures\n{MEASURED_END}\n\n", "")
    path = Path(folder) / "model_cards" / f"{model_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def outside(text):
    """The card's text with the command-written parts blanked: the metrics and params lines and the inside of
    every marked section."""
    text = re.sub(r"(?m)^metrics:.*\n(?:[ -].*\n)*", "metrics: ...\n", text)
    text = re.sub(r"(?m)^params:.*\n", "params: ...\n", text)
    for start, end, _ in cards.SECTIONS.values():
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), start + "..." + end, text, flags=re.S)
    return text


def inside(text, start, end):
    return text.split(start + "\n", 1)[1].split("\n" + end, 1)[0]


def test_update_writes_only_the_metrics_params_and_marked_sections(tmp_path):
    path = hand_card(tmp_path, "tiny-a")
    before = path.read_text()
    written = cards.update(path, metrics={"acc": 0.123456789, "n": 3}, params=14, measured="new figures\n",
                           training_run="the new run")
    after = path.read_text()
    assert outside(after) == outside(before)  # every authored byte, the front matter's comment and quotes included
    card = cards.parse_card(path)
    assert card.metrics == {"acc": 0.123457, "n": 3} and card.params == 14 and card.title == "Tiny, as a person titled it"
    assert inside(after, MEASURED_START, MEASURED_END) == "new figures"
    assert inside(after, RUN_START, RUN_END) == "the new run"
    assert (written.drafted, written.appended, written.changed) == (False, (), True)
    again = cards.update(path, metrics={"acc": 0.123457, "n": 3}, params=14, measured="new figures",
                         training_run="the new run")
    assert not again.changed and path.read_text() == after  # the same figures: the file is not even rewritten
    with pytest.raises(cards.CardError, match="no such card"):
        cards.update(tmp_path / "model_cards" / "nobody.md", metrics={})
    path.write_text(after.replace(MEASURED_END, ""))
    with pytest.raises(cards.CardError, match="markers"):  # half a section is an error, not a guess
        cards.update(path, measured="x")


def test_a_card_without_markers_gets_its_sections_appended_and_says_so(tmp_path):
    path = hand_card(tmp_path, "tiny-a", markers=False)
    before = path.read_text()
    assert MEASURED_START not in before and RUN_START not in before
    written = cards.update(path, measured="figures", training_run="a run")
    after = path.read_text()
    assert after.startswith(before.rstrip("\n")) and written.appended == ("measured", "training_run")
    assert after.endswith(f"## Measured\n\n{MEASURED_START}\nfigures\n{MEASURED_END}\n\n"
                          f"## Training run\n\n{RUN_START}\na run\n{RUN_END}\n")
    assert any("no <!-- measured:start -->" in note and "## Measured" in note for note in written.notes())
    assert cards.update(path, measured="figures 2").appended == ()  # from then on they are filled in place


def test_every_shipped_card_is_unchanged_when_written_with_its_own_figures(tmp_path):
    """What evaluate --write or a training run writes, given the figures a card already holds, is that card."""
    for card in cards.list_cards():
        path = tmp_path / card.path.name
        shutil.copyfile(card.path, path)
        text = path.read_text()
        run = inside(text, RUN_START, RUN_END) if RUN_START in text else None
        measured = inside(text, MEASURED_START, MEASURED_END) if MEASURED_START in text else None
        written = cards.update(path, metrics=card.metrics, params=card.params, measured=measured, training_run=run)
        assert not written.changed and path.read_text() == card.path.read_text(), card.id


# evaluate --write on a tiny model


@pytest.fixture
def cardtest_family(monkeypatch):
    module = types.ModuleType("playground.families.cardtest")
    module.build = lambda config: torch.nn.Linear(config["width"], 2)
    module.default_action = lambda model, seed: None
    module.evaluate = lambda model, card, quick=False: {"weight_sum": float(model.weight.sum()), "n": 4}
    module.report = lambda model, card, metrics, folder: f"Weight sum {metrics['weight_sum']:.3f} of {card.id}."
    monkeypatch.setitem(sys.modules, "playground.families.cardtest", module)
    return module


def tiny_model(tmp_path, monkeypatch, model_id, markers=True):
    net = torch.nn.Linear(3, 2)
    registry.save_weights(tmp_path / "weights" / model_id, net, {"width": 3})
    path = hand_card(tmp_path, model_id, markers=markers)
    monkeypatch.setattr(registry, "_default", registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path))
    return net, path


def test_a_hand_edit_survives_evaluate_write(tmp_path, monkeypatch, cardtest_family, capsys):
    net, path = tiny_model(tmp_path, monkeypatch, "tiny-eval")
    path.write_text(path.read_text().replace("42 cats.", "42 cats, and a sentence added by hand.\n\nA new paragraph."))
    before = path.read_text()
    assert evaluate.main(["tiny-eval", "--write"]) == 0
    after = path.read_text()
    assert outside(after) == outside(before)  # the prose, the front matter's other keys, comment and quotes
    assert "and a sentence added by hand" in after and "Closing words after the measured section." in after
    card = cards.parse_card(path)
    assert card.metrics == {"weight_sum": pytest.approx(float(net.weight.detach().sum()), abs=1e-5), "n": 4}
    assert inside(after, MEASURED_START, MEASURED_END) == f"Weight sum {float(net.weight.detach().sum()):.3f} of tiny-eval."
    assert inside(after, RUN_START, RUN_END) == "the old run"  # evaluate leaves the training's section alone
    assert "wrote what was measured into tiny-eval.md" in capsys.readouterr().out


def test_evaluate_write_appends_the_measured_section_to_a_card_without_markers(tmp_path, monkeypatch, cardtest_family,
                                                                               capsys):
    _, path = tiny_model(tmp_path, monkeypatch, "tiny-bare", markers=False)
    before = path.read_text()
    assert evaluate.main(["tiny-bare", "--write"]) == 0
    after = path.read_text()
    body = before.split("\n---\n", 1)[1].rstrip("\n")  # the prose as written, then the new section
    assert after.split("\n---\n", 1)[1].startswith(body + "\n\n## Measured\n\n" + MEASURED_START + "\nWeight sum ")
    assert "added a '## Measured' section at its end" in capsys.readouterr().out


# a training command's finish on a tiny model


def _image(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def tiny_superres(tmp_path, monkeypatch):
    """The super-resolution training command on a tiny network and tiny pictures, shipping into tmp_path."""
    from playground.families import superres
    from playground.train import superres as train
    preset = dict(train.PRESETS["fast-x2"], config=dict(arch="fast", scale=2, features=8, mid=4))
    monkeypatch.setitem(train.PRESETS, "fast-x2", preset)
    monkeypatch.setattr(train, "training_images", lambda: {"pic:a": _image(80, 96, 1), "pic:b": _image(72, 72, 2)})
    monkeypatch.setattr(superres, "held_out_images", lambda: {"astronaut": _image(300, 300, 3)})
    runs = iter(range(1, 100))
    monkeypatch.setattr(superres, "evaluate", lambda model, card=None, quick=False: {"x2_model_psnr": 10.0 + next(runs)})
    monkeypatch.setattr(loop, "finish", partial(loop.finish, root=tmp_path))
    card = tmp_path / "model_cards" / "sr-fast-x2.md"
    return lambda steps: train.main(["--preset", "fast-x2", "--threads", "1", "--batch-size", "2", "--steps",
                                     str(steps), "--run-dir", str(tmp_path / f"run{steps}")]), card


def test_a_new_models_card_is_drafted_and_a_hand_edit_survives_the_next_training_run(tiny_superres, capsys):
    train, card = tiny_superres
    train(2)  # no card yet: the template is its first draft
    assert "drafted sr-fast-x2.md from its template" in capsys.readouterr().out
    drafted = card.read_text()
    assert "A learned x2 upscaler" in drafted and cards.parse_card(card).metrics == {"x2_model_psnr": 11.0}
    run = inside(drafted, RUN_START, RUN_END)
    assert "2 steps" in run and "on 2 pictures: pic:a, pic:b." in run
    assert "2 steps" not in outside(drafted)  # the run's figures are in its section, not in the prose
    edited = drafted.replace("A learned x2 upscaler", "A hand-tuned learned x2 upscaler (a person's words)").replace(
        "\n## Limits and ethics\n", "\n## Limits and ethics\n\nA paragraph added by hand.\n")
    edited = edited.replace("license: MIT\n", "license: MIT  # checked by hand\n")
    card.write_text(edited)
    train(3)
    after = card.read_text()
    assert outside(after) == outside(edited)  # the hand edits, prose and front matter, survive byte for byte
    assert "drafted" not in capsys.readouterr().out
    assert "3 steps" in inside(after, RUN_START, RUN_END) and "2 steps" not in after  # the run's section follows the run
    assert cards.parse_card(card).metrics == {"x2_model_psnr": 12.0}  # and so do the metrics
