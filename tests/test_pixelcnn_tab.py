"""The PixelCNN tab builds around whatever PixelCNNs are installed (here tiny untrained ones)."""
import gradio as gr

from tests.unit.test_pixelcnn_actions import TINY_CACHES, TINY_MODELS  # noqa: F401  (what tiny_registry installs)


def test_the_tab_builds_around_the_installed_models(tiny_registry):
    import tabs.pixelcnn
    assert isinstance(tabs.pixelcnn.build(), gr.Blocks)
