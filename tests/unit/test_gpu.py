"""playground.gpu: the heavy events ask for more than the default. tests/test_gpu_events.py checks the app uses it."""
import pytest

from playground.gpu import DEFAULT_SECONDS, GPU_SECONDS, PRIVATE_SECONDS, gpu_duration


def test_durations_fit_the_work():
    assert all(isinstance(s, int) and 10 <= s <= 180 for s in GPU_SECONDS.values())
    for heavy in ("compare", "compare_samplers", "diffusion_generate", "style_optimise", "style_compare",
                  "text_to_image", "train_on_generated"):
        assert gpu_duration(heavy) > DEFAULT_SECONDS, heavy
    assert gpu_duration("style_compare") > gpu_duration("style_optimise") > gpu_duration("style_fast")
    assert gpu_duration("walk") < DEFAULT_SECONDS


def test_an_unknown_event_is_an_error_not_the_default():
    with pytest.raises(KeyError, match="playground.gpu.GPU_SECONDS"):
        gpu_duration("no_such_event")
    assert gpu_duration(None) == PRIVATE_SECONDS
