"""The classroom bench's bookkeeping: which paths run, and how clicks are summed up."""
from playground import classroom, registry
from playground.classroom import CHEAP, HEAVY
from tests.conftest import SHIPPED

TINY_MODELS = {"gan-fashion": SHIPPED}


def click(kind, outcome="ok", first=1.0, done=2.0):
    return {"kind": kind, "outcome": outcome, "first_s": first, "done_s": done, "api": "x", "student": 0, "tab": "t"}


def test_summary_counts_outcomes_and_takes_percentiles_of_completed_clicks_only():
    clicks = [click(CHEAP, first=f, done=f + 1) for f in (0.1, 0.2, 0.3, 0.4, 5.0)]
    clicks += [click(CHEAP, "queue full", None, 0.0), click(CHEAP, "timed out", 3.0, 600.0),
               click(CHEAP, "generate: boom", None, 9.0), click(HEAVY, first=2.0, done=60.0)]
    s = classroom.summarise(clicks)
    assert s[CHEAP]["clicks"] == 8 and s[CHEAP]["ok"] == 5
    assert (s[CHEAP]["queue_full"], s[CHEAP]["timed_out"], s[CHEAP]["errors"]) == (1, 1, 1)
    assert s[CHEAP]["first_p50_s"] == 0.3 and s[CHEAP]["first_p95_s"] == 5.0 and s[CHEAP]["done_p95_s"] == 6.0
    assert s[HEAVY]["done_p50_s"] == 60.0


def test_paths_needing_a_missing_model_are_left_out(tiny_registry):
    kept = {tab for tab, _ in classroom.runnable_paths(registry.default())}
    assert "Data" in kept  # needs no model
    assert "GAN" not in kept and "Compare" not in kept  # gan-faces, and three of Compare's four models, are absent


def test_every_path_calls_a_public_endpoint():
    import app
    assert {name for _, steps in classroom.PATHS for _, name, _ in steps} <= set(app.PUBLIC_API)
