"""The PixelCNN tab builds around whatever PixelCNNs are installed (here tiny untrained ones)."""
import gradio as gr

from tests.unit.test_pixelcnn_actions import tiny_registry  # noqa: F401  (the fixture)


def test_the_tab_builds_around_the_installed_models(tiny_registry):  # noqa: F811
    import tabs.pixelcnn
    assert isinstance(tabs.pixelcnn.build(), gr.Blocks)
