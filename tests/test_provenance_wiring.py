"""tabs.provenance.record on a toy app: which handlers it wraps, what their images become, what passes untouched;
and Gradio serves the PNG as it is, under its name (the browser's download takes orig_name)."""
import inspect
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio import processing_utils
from gradio.components.image import Image as ImageComponent

from playground import provenance
from tabs import provenance as tab_provenance
from tabs.common import image_output, model_event

PIXELS = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)


def _toy(handler, private=None):
    with gr.Blocks() as demo:
        with gr.Tab("Toy"):
            seed = gr.Number(value=0, precision=0, label="Seed")
            with gr.Accordion("Other view"):
                steps = gr.Slider(1, 9, value=3, step=1, label="Steps")
                go = gr.Button("Go")
            with gr.Accordion("Third"):
                picture = gr.Image(label="Upload", type="filepath")
            out, gallery, words = image_output("Out"), gr.Gallery(label="Many", format="png"), gr.Markdown()
        go.click(handler, [seed, steps, picture], [out, gallery, words], api_name="toy")
        if private:  # a private event of other inputs, and one recomputing the public one's image (a release)
            go.click(private, [seed, steps], [out, words], api_name="hidden", api_visibility="private")
            steps.release(private, [seed, steps, picture], [out], api_name="twin", api_visibility="private")
    tab_provenance.record(demo)
    return {fn.api_name: fn.fn for fn in demo.fns.values()}


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    monkeypatch.setattr(ImageComponent, "GRADIO_CACHE", str(tmp_path), raising=False)
    monkeypatch.setattr(gr.Gallery, "GRADIO_CACHE", str(tmp_path), raising=False)


def test_images_become_pngs_with_the_recipe_of_the_event():
    def handler(seed, steps, picture):
        return PIXELS, [(PIXELS, "a caption"), PIXELS, "/kept/as/it/is.gif"], "words"
    fns = _toy(handler)
    image, gallery, words = fns["toy"](2, 4, None)
    rec = provenance.read_recipe(image)
    assert (rec["tab"], rec["view"], rec["endpoint"], rec["seed"]) == ("toy", "other_view", "toy", 2)
    assert rec["settings"] == {"seed": 2, "steps": 4} and "inputs" not in rec
    assert Path(image).name == "toy-toy-out-seed2.png"
    assert [Path(gallery[0][0]).name, gallery[0][1], Path(gallery[1]).name, gallery[2]] == \
        ["toy-toy-many-seed2-1.png", "a caption", "toy-toy-many-seed2-2.png", "/kept/as/it/is.gif"]
    assert provenance.read_recipe(gallery[1]) == rec and words == "words"
    assert fns["toy"](2, 4, "/an/upload.png")[0] != image
    assert provenance.read_recipe(fns["toy"](2, 4, "/an/upload.png")[0])["inputs"] == "upload"


def test_streams_updates_skips_errors_and_private_events_pass_through():
    def stream(seed, steps, picture):
        yield gr.skip(), gr.update(value=None), "starting"
        yield PIXELS, None, "done"

    def failing(seed, steps, picture=None):
        raise gr.Error("no")
    fns = _toy(model_event(stream), private=failing)
    assert inspect.isgeneratorfunction(fns["toy"]) and fns["toy"].model_event
    assert list(inspect.signature(fns["toy"]).parameters) == ["seed", "steps", "picture"]
    first, last = list(fns["toy"](1, 2, None))
    assert first[:2] == (gr.skip(), gr.update(value=None))
    assert provenance.read_recipe(last[0])["seed"] == 1 and last[1:] == (None, "done")
    assert Path(last[0]).name == "toy-toy-seed1.png"  # one image shown: no label in its name
    with pytest.raises(gr.Error):
        fns["twin"](1, 2, None)
    assert fns["hidden"] is failing  # private events are not wrapped, unless they recompute a public one's images


def test_a_private_event_recomputing_a_public_ones_image_carries_that_endpoints_recipe():
    fns = _toy(lambda seed, steps, picture: (PIXELS, None, ""), private=lambda seed, steps, picture=None: PIXELS)
    rec = provenance.read_recipe(fns["twin"](5, 6, None))
    assert (rec["endpoint"], rec["view"], rec["settings"]) == ("toy", "other_view", {"seed": 5, "steps": 6})


def test_gradio_serves_the_png_as_it_is_under_its_name(tmp_path):
    rec = provenance.recipe("toy", "main", "toy", {"seed": 1})
    inside = provenance.save_png(PIXELS, rec, "toy-seed1.png", folder=tmp_path)
    block = gr.Image()
    block.GRADIO_CACHE = str(tmp_path)
    assert block.move_resource_to_block_cache(inside) == inside  # in Gradio's cache already: served, not copied
    outside = provenance.save_png(PIXELS, rec, "toy-seed1.png", folder=tmp_path / "elsewhere")
    copied = processing_utils.save_file_to_cache(outside, str(tmp_path / "cache"))
    assert Path(copied).name == "toy-seed1.png" and Path(copied).read_bytes() == Path(outside).read_bytes()
    assert block.postprocess(inside).orig_name == "toy-seed1.png"  # the download button's file name
