"""What a generator family offers the shared views, in one small typed form.

A family module that draws images from a seed declares

    GENERATOR = Generator(draw=_draw, knob=Knob("Temperature", 0.1, 2.0, 0.05, 1.0, 0.8), rank=3,
                          bits=(("test_bpd", "exact"),))

and Compare, the two-settings panels, bench and evaluate find it with generator(family): none of them
names a family. Adding a family is one module in playground/families/ (with build, default_action,
evaluate and, for a generator, GENERATOR), its cards, its training command and its tab.
"""
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Knob:
    """The one setting the two-settings panel varies: its name, range, step and the two defaults."""
    name: str
    minimum: float
    maximum: float
    step: float
    a: float
    b: float
    integer: bool = False


@dataclass(frozen=True)
class Generator:
    """draw(model, n, seed, knob=None, sampler=None) -> uint8 (n, S, S): n images from one seed, cycling
    through the model's classes if it has any; knob None is the setting the model was trained at; sampler
    (name, steps) for a family with samplers, None for the model's own default.
    rank: the family's place in tables (GANs first, as in the course). bits: (card metric, "exact" or
    "bound") of the bits/dim a card may hold, best first. samplers / max_steps: what `sampler` may name."""
    draw: Callable
    knob: Knob
    rank: int
    bits: tuple = ()
    samplers: tuple = ()
    max_steps: int = 0

    def bits_text(self, card):
        metrics = card.metrics or {}
        for key, kind in self.bits:
            if key in metrics:
                return f"{metrics[key]:.3f} ({kind})"
        return "none"


def generator(family):
    """The family's Generator, or None when the family draws no images from a seed or has no module here.
    A module that exists but fails to import raises: a broken family is not silently left out."""
    name = f"playground.families.{family}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(family)) or (
            name not in sys.modules and importlib.util.find_spec(name) is None):
        return None
    return getattr(importlib.import_module(name), "GENERATOR", None)


def family_of(module):
    """The family a family module is (playground.families.gan -> "gan"): what its cards' `family` says.
    A family's name (as the two-settings panel is given it) is returned as it is."""
    return module if isinstance(module, str) else module.__name__.rsplit(".", 1)[-1]


def in_batches(model, n, seed, batch, draw_batch):
    """n images as draw_batch(seed + i, size, labels) calls of at most `batch`, the labels cycling through the
    model's classes (None for an unconditional model): the same images whatever asks for them."""
    classes = int(getattr(model, "num_classes", 0) or 0)
    labels = [i % classes for i in range(n)] if classes else None
    return np.concatenate([draw_batch(seed + i, min(batch, n - i), labels[i:i + batch] if labels else None)
                           for i in range(0, n, batch)])
