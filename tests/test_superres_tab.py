"""The Super-resolution tab builds around whatever upscalers are installed (here tiny untrained ones)."""
import gradio as gr

from tests.unit.test_superres_actions import tiny_registry  # noqa: F401  (the fixture)


def test_the_tab_builds_around_the_installed_models(tiny_registry):  # noqa: F811
    import tabs.superres
    assert isinstance(tabs.superres.build(), gr.Blocks)
