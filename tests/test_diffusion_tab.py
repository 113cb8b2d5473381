"""The diffusion tab (not yet in app.TABS: no trained model ships) builds around an installed model."""
import gradio as gr

from tests.unit.test_diffusion_actions import tiny_registry  # noqa: F401  (the fixture)


def test_the_tab_builds_around_the_installed_model(tiny_registry):  # noqa: F811
    import tabs.diffusion
    assert isinstance(tabs.diffusion.build(), gr.Blocks)
