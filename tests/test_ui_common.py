"""tabs.common: errors become clear messages, GPU wrapping only on ZeroGPU Spaces."""
import sys
import types

import gradio as gr
import pytest

from playground.errors import InputError
from tabs import common


def test_playground_errors_reach_the_user_as_they_are():
    def bad():
        raise InputError("Seed must be a whole number.")
    with pytest.raises(gr.Error) as info:
        common.guarded(bad)()
    assert info.value.message == "Seed must be a whole number."


def test_bugs_become_a_generic_message_without_internals(caplog):
    def buggy():
        raise KeyError("secret internal detail")
    with pytest.raises(gr.Error) as info:
        common.guarded(buggy)()
    assert info.value.message == common.GENERIC_ERROR and "secret" not in info.value.message
    assert "secret internal detail" in caplog.text  # but the server log has it


def test_streaming_handlers_are_guarded_too():
    def stream():
        yield 1
        raise InputError("stopped")
    gen = common.guarded(stream)()
    assert next(gen) == 1
    with pytest.raises(gr.Error, match="stopped"):
        next(gen)


def test_gpu_wrapping_only_where_spaces_exists(monkeypatch):
    fn = lambda: 1  # noqa: E731
    monkeypatch.setitem(sys.modules, "spaces", None)  # import fails
    assert common.on_gpu(fn) is fn
    wrapped = []
    fake = types.SimpleNamespace(GPU=lambda f, duration=None: wrapped.append((f, duration)) or (lambda: 2))
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert common.on_gpu(fn)() == 2 and common.on_gpu(fn, 90)() == 2 and wrapped == [(fn, None), (fn, 90)]


def test_raw_inputs_skip_gradio_preprocessing():
    slider = common.raw(gr.Slider(0, 1, step=0.5))
    assert slider.preprocess(float("nan")) != slider.preprocess(float("nan"))  # NaN passes through as is
    image = common.image_input("x")
    assert image.preprocess(image.data_model(path=None, url="data:image/png;base64,AAAA")).startswith("data:")


def test_image_paths_are_taken_only_from_the_upload_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "abc").mkdir(parents=True)
    inside, outside = tmp_path / "cache" / "abc" / "a.png", tmp_path / "b.png"
    inside.write_bytes(b"x")
    outside.write_bytes(b"x")
    (tmp_path / "cache" / "abc" / "link.png").symlink_to(outside)
    image = common.image_input("x")
    assert image.preprocess(image.data_model(path=str(inside), url=None)) == str(inside)
    for path in [outside, tmp_path / "cache" / "abc" / "link.png", tmp_path / "cache" / "abc" / ".." / ".." / "b.png",
                 tmp_path / "cache" / "abc" / "missing.png", tmp_path / "cache", "/etc/passwd"]:
        with pytest.raises(gr.Error) as info:
            image.preprocess(image.data_model(path=str(path), url=None))
        assert info.value.message == common.NOT_UPLOADED
    assert image.preprocess(image.data_model(path=None, url="data:image/png;base64,AAAA")).startswith("data:")


def _png(size, mode="RGBA"):
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.new(mode, size, (0, 0, 0, 255) if mode == "RGBA" else 0).save(buf, "PNG")
    return buf.getvalue()


def test_a_drawing_reaches_the_handler_as_its_composite_only():
    from gradio.components.image_editor import EditorDataBlobs
    pad = common.drawing_input("Drawing")
    pad.blob_storage["a"] = EditorDataBlobs(background=None, layers=[_png((9000, 9000))], composite=_png((280, 280)))
    drawn = pad.preprocess(pad.data_model(id="a"))
    assert drawn.shape == (280, 280) and drawn.dtype.name == "uint8" and (drawn == 0).all()  # layers never decoded
    assert "a" not in pad.blob_storage and pad.preprocess(pad.data_model(id="a")) is None
    assert pad.preprocess(None) is None
    pad.blob_storage["b"] = EditorDataBlobs(background=None, layers=[], composite=_png((3000, 3000)))
    with pytest.raises(gr.Error, match="megapixels"):
        pad.preprocess(pad.data_model(id="b"))
    with pytest.raises(gr.Error) as info:
        pad.preprocess(pad.data_model(composite={"path": "/etc/passwd"}))
    assert info.value.message == common.NOT_UPLOADED


def test_drawings_never_used_are_dropped_oldest_first():
    from gradio.components.image_editor import EditorDataBlobs
    blobs = common.BoundedBlobs(max_bytes=1000)
    for key in "abcd":
        blobs[key] = EditorDataBlobs(background=None, layers=[b"x" * 300], composite=None)
    assert list(blobs) == ["b", "c", "d"]


def test_a_sessions_copy_of_a_sketchpad_still_hands_over_its_composite_only():
    """Gradio rebuilds a component from its constructor arguments for a session when an event updates its props
    (blocks.postprocess_data); that copy must keep the composite-only preprocess and the bounded blob store
    (issue 25: the whole value reached the handler, which answered "The drawing is empty")."""
    from gradio.components.image_editor import EditorDataBlobs
    pad = common.drawing_input("Drawing")
    copy = pad.__class__(**{**pad.constructor_args, "render": False})
    assert isinstance(copy.blob_storage, common.BoundedBlobs)
    copy.blob_storage["a"] = EditorDataBlobs(background=None, layers=[], composite=_png((280, 280)))
    drawn = copy.preprocess(copy.data_model(id="a"))
    assert getattr(drawn, "shape", None) == (280, 280)
    assert copy.get_block_name() == "imageeditor"


def test_sketchpads_open_with_the_brush_on_a_white_page_and_no_crop_or_layers():
    """A blank white background keeps Gradio's editor on the brush (an empty value switches it to the image
    tool: "select the draw tool to start"); no layers menu, no crop."""
    pad = common.drawing_input("Drawing")
    value = pad.value
    assert value and value.get("background") is not None and not value.get("layers")
    assert pad.layers.disabled and not pad.transforms and pad.brush and pad.canvas_size == (280, 280)
    assert pad.width and pad.height and pad.width < 2 * pad.canvas_size[0]


def test_blob_uploads_of_one_drawing_never_overwrite_each_other():
    """The browser sends a drawing's parts (background, layers, composite) in parallel requests to the same id."""
    import threading

    from gradio.components.image_editor import AcceptBlobs
    pad = common.drawing_input("Drawing")
    ids = [f"d{i}" for i in range(200)]

    def send(kind):
        for i in ids:
            pad.accept_blobs(AcceptBlobs(data={"type": kind, "index": None, "file": b"", "id": i},
                                         files=[("f", b"x" * 10)]))
    threads = [threading.Thread(target=send, args=(kind,)) for kind in ("composite", "background")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(pad.blob_storage[i].composite and pad.blob_storage[i].background for i in ids)
