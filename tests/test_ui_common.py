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
    fake = types.SimpleNamespace(GPU=lambda f: wrapped.append(f) or (lambda: 2))
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert common.on_gpu(fn)() == 2 and wrapped == [fn]


def test_raw_inputs_skip_gradio_preprocessing():
    slider = common.raw(gr.Slider(0, 1, step=0.5))
    assert slider.preprocess(float("nan")) != slider.preprocess(float("nan"))  # NaN passes through as is
    image = common.image_input("x")
    payload = image.data_model(path="/tmp/x.png", url=None)
    assert image.preprocess(payload) == "/tmp/x.png"
    assert image.preprocess(image.data_model(path=None, url="data:image/png;base64,AAAA")).startswith("data:")
