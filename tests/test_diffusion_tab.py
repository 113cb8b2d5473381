"""The diffusion tab builds around whatever diffusion model is installed (here a tiny untrained one)."""
import gradio as gr

from tests.unit.test_diffusion_actions import tiny_registry  # noqa: F401  (the fixture)


def test_the_tab_builds_around_the_installed_model(tiny_registry):  # noqa: F811
    import tabs.diffusion
    assert isinstance(tabs.diffusion.build(), gr.Blocks)
