"""The diffusion tab builds around whatever diffusion model is installed (here a tiny untrained one)."""
import gradio as gr

from tests.unit.test_diffusion_actions import TINY_MODELS  # noqa: F401  (what tiny_registry installs)


def test_the_tab_builds_around_the_installed_model(tiny_registry):
    import tabs.diffusion
    assert isinstance(tabs.diffusion.build(), gr.Blocks)
