"""The Denoising tab builds alone and opens with the stored noise-level sweep drawn."""
import gradio as gr


def test_the_tab_builds_and_opens_with_the_sweep_chart():
    import tabs.denoise
    blocks = tabs.denoise.build()
    assert isinstance(blocks, gr.Blocks)
    config = blocks.get_config_file()
    sweep = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "denoise-sweep")
    assert sweep["props"]["value"] is not None and sweep["props"]["format"] == "png"
    texts = [c["props"].get("value") for c in config["components"] if c.get("type") == "markdown"]
    assert any(isinstance(t, str) and "python -m playground.denoise_bench" in t for t in texts)
