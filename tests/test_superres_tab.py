"""The Super-resolution tab builds around whatever upscalers are installed (here tiny untrained ones)."""
import gradio as gr

from tests.unit.test_superres_actions import TINY_MODELS  # noqa: F401  (what tiny_registry installs)


def test_the_tab_builds_around_the_installed_models(tiny_registry):
    import tabs.superres
    assert isinstance(tabs.superres.build(), gr.Blocks)


def test_the_tab_opens_with_the_first_example_loaded(tiny_registry):
    import tabs.superres
    from playground.actions import superres as actions
    config = tabs.superres.build().get_config_file()
    values = [c.get("props", {}).get("value") for c in config["components"]]
    name, _ = actions.default_pick()
    assert name in values  # the example dropdown
    assert any(isinstance(v, dict) and str(v.get("path", "")).endswith(".png") for v in values)  # the upload box
