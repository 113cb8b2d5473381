"""The Style transfer tab builds around whatever style models are installed (here tiny untrained ones)."""
import gradio as gr

from tests.unit.test_style_actions import TINY_MODELS  # noqa: F401  (what tiny_registry installs)


def test_the_tab_builds_around_the_installed_models(tiny_registry):
    import tabs.style
    assert isinstance(tabs.style.build(), gr.Blocks)


def test_loss_rows_become_a_log_scale_table_and_a_status_line():
    import tabs.style
    from playground.actions import style as actions
    rows = [{"iteration": 5, "seconds": 1.0, "term": t, "weighted": w} for t, w in (("style", 100.0), ("content", 1.0),
                                                                                   ("tv", 0.0))]
    frame = tabs.style._frame(rows)
    assert list(frame["log10 weighted loss"]) == [2.0, 0.0, -12.0]
    assert actions.status_text(rows, 10).startswith("Iteration 5 of 10 after 1.0 s")
    assert tabs.style._frame([]) is None and actions.status_text([], 10) == ""
