"""Registry-driven: every card in model_cards/ parses, its weights load, and its default action runs.

A model added later is tested by being added (timm's tests walk list_models() the same way).
"""
import threading

import numpy as np
import pytest
import torch

from playground import registry
from playground.cards import list_cards

CARDS = list_cards()
LOCAL = [c for c in CARDS if not c.is_hub]
# cards whose metrics_command has not been run yet (it takes tens of minutes of CPU); once it has, drop the id
METRICS_PENDING = set()  # card ids whose metrics are still to be measured (evaluate --write)
SLOW_FAMILIES = {"diffusion", "pixelcnn"}  # iterative samplers: 5 to 30 s a card on a CPU
LOCAL_PARAMS = [pytest.param(c, id=c.id, marks=pytest.mark.slow if c.family in SLOW_FAMILIES else ()) for c in LOCAL]


def _flat(result):
    """Every array in a default action's result, for comparing two runs."""
    if isinstance(result, torch.Tensor):
        return [result.detach().cpu().numpy()]
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, dict):
        return [a for k in sorted(result) for a in _flat(result[k])]
    if isinstance(result, (list, tuple)):
        return [a for r in result for a in _flat(r)]
    return [np.asarray(result)]


@pytest.fixture(scope="module")
def reg():
    return registry.Registry()


def test_there_are_cards():
    assert CARDS, "model_cards/ is empty"


@pytest.mark.parametrize("card", LOCAL_PARAMS)
def test_card_loads_and_runs(reg, card):
    assert reg.availability(card.id) == "local"
    model = reg.get_model(card.id)
    assert sum(p.numel() for p in model.parameters()) == card.params
    if card.id in METRICS_PENDING:
        assert not card.metrics, f"{card.id} is measured now: remove it from METRICS_PENDING"
    else:
        assert card.metrics, f"{card.id} has no measured metrics"
    family = registry.family_module(card.family)
    first, again = _flat(family.default_action(model, 7)), _flat(family.default_action(model, 7))
    assert first and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(np.isfinite(a.astype(float)).all() for a in first)


@pytest.mark.parametrize("card", LOCAL_PARAMS)
def test_concurrent_seeds_match_sequential(reg, card):
    """Two requests with different seeds at once give what they give one after the other."""
    family = registry.family_module(card.family)
    model = reg.get_model(card.id)
    alone = {seed: _flat(family.default_action(model, seed)) for seed in (1, 2)}
    together = {}
    threads = [threading.Thread(target=lambda s=s: together.__setitem__(s, _flat(family.default_action(model, s))))
               for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in (1, 2):
        assert all(np.array_equal(a, b) for a, b in zip(alone[seed], together[seed]))
