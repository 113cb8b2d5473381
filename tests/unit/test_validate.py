"""playground.validate: numbers, seeds and choices as they arrive over raw HTTP."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground import validate
from playground.errors import InputError

FAST = settings(max_examples=100, deadline=None)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float64("nan"), np.float32("inf")])
def test_non_finite_numbers_are_refused(bad):
    with pytest.raises(InputError, match="Steps must be a number"):
        validate.number(bad, name="Steps")


@pytest.mark.parametrize("bad", [True, False, np.bool_(True), "3", "abc", "", None, [3], (3,), {"v": 3}, 3j,
                                 np.array(3), np.array([3.0])])
def test_non_numbers_are_refused(bad):
    with pytest.raises(InputError) as err:
        validate.number(bad, name="Guidance", minimum=0, maximum=20)
    assert str(err.value).startswith("Guidance must be a number from 0 to 20; got ")


def test_messages_name_the_field_and_quote_what_came():
    with pytest.raises(InputError) as err:
        validate.number("abc", name="Steps", minimum=1, maximum=1000, integer=True)
    assert str(err.value) == "Steps must be a whole number from 1 to 1000; got 'abc'."
    with pytest.raises(InputError, match=r"^Strength must be a number of at least 0\.5 in steps of 0\.25; got 0\.6\.$"):
        validate.number(0.6, name="Strength", minimum=0.5, step=0.25)
    with pytest.raises(InputError, match=r"of at most 4; got nothing\.$"):
        validate.number(None, name="Scale", maximum=4)
    with pytest.raises(InputError, match=r"got a list\.$"):
        validate.number([1], name="Scale")
    with pytest.raises(InputError, match=r"got 'xxxxxxxxxx.*\.\.\.'\.$"):
        validate.number("x" * 1000, name="Scale")
    with pytest.raises(InputError, match="thousands of digits"):
        validate.number(10**5000, name="Scale", maximum=10)


def test_bounds_are_inclusive():
    assert validate.number(1, name="n", minimum=1, maximum=5) == 1
    assert validate.number(5.0, name="n", minimum=1, maximum=5) == 5.0
    for bad in (0, 0.999, 5.0001, 6):
        with pytest.raises(InputError, match="from 1 to 5"):
            validate.number(bad, name="n", minimum=1, maximum=5)
    assert validate.number(-1e300, name="n") == -1e300


def test_step_grid_starts_at_the_minimum():
    assert validate.number(7, name="n", minimum=2, maximum=12, step=5) == 7
    with pytest.raises(InputError, match="in steps of 5"):
        validate.number(5, name="n", minimum=2, maximum=12, step=5)
    assert validate.number(0.30000000000000004, name="n", minimum=0, maximum=1, step=0.1) == pytest.approx(0.3)
    assert validate.number(np.float32(0.3), name="n", minimum=0, maximum=1, step=0.1) == pytest.approx(0.3)
    assert validate.number(-1.5, name="n", step=0.5) == -1.5  # no minimum: the grid starts at 0
    for bad in (0.35, 0.3 + 1e-6, 1e-7):
        with pytest.raises(InputError):
            validate.number(bad, name="n", minimum=0, maximum=1, step=0.1)
    with pytest.raises(ValueError):
        validate.number(1, name="n", step=0)


def test_integer_coercion():
    out = validate.number(3.0, name="Steps", integer=True)
    assert out == 3 and type(out) is int
    out = validate.number(np.int64(7), name="Steps", integer=True, minimum=1)
    assert out == 7 and type(out) is int
    assert type(validate.number(np.uint8(200), name="n")) is int
    assert type(validate.number(np.float16(0.5), name="n")) is float
    assert type(validate.number(7, name="n")) is int and type(validate.number(7.0, name="n")) is float
    for bad in (3.5, np.float64(2.25), 1e-300):
        with pytest.raises(InputError, match="must be a whole number"):
            validate.number(bad, name="Steps", integer=True)
    assert validate.number(10**30, name="n", integer=True) == 10**30  # no float round-trip for ints
    with pytest.raises(InputError):  # too large for a float step check: refused, not an OverflowError
        validate.number(10**400, name="n", step=0.5)


def test_seed():
    assert validate.seed(0) == 0 and validate.seed(2**31 - 1) == 2**31 - 1
    assert validate.seed(42.0) == 42 and type(validate.seed(np.int32(5))) is int
    for bad in (-1, 2**31, 1.5, "1", True, None, float("nan")):
        with pytest.raises(InputError, match=r"^Seed must be a whole number from 0 to 2147483647; got "):
            validate.seed(bad)
    with pytest.raises(InputError, match="^Noise seed "):
        validate.seed(-1, name="Noise seed")
    from playground import devices
    assert validate.MAX_SEED == devices.MAX_SEED  # a validated seed is always one devices.generator takes


def test_choice():
    options = ["features-fashion", "gan-faces", "3"]
    assert validate.choice("gan-faces", options, name="Model") == "gan-faces"
    assert validate.choice(np.str_("3"), options, name="Model") == "3"
    for bad in ("GAN-faces", " gan-faces", "gan-faces ", 3, None, ["3"], True):
        with pytest.raises(InputError) as err:
            validate.choice(bad, options, name="Model")
        assert str(err.value).startswith("Model must be one of 'features-fashion', 'gan-faces' or '3'; got ")
    assert validate.choice(2, [1, 2, 3], name="Scale") == 2
    with pytest.raises(InputError):
        validate.choice(True, [1, 2], name="Scale")  # True == 1, but it is not a choice
    with pytest.raises(InputError, match=r"\.\.\. \(30 choices\)"):
        validate.choice("zz", [f"m{i}" for i in range(30)], name="Model")
    assert validate.choice("b", {"a": 1, "b": 2}, name="Set") == "b"  # any iterable of options
    with pytest.raises(ValueError):
        validate.choice("a", [], name="Model")


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6), st.floats(0, 1e6),
       st.sampled_from([None, 0.5, 0.1, 3.0]), st.booleans())
def test_number_property(value, lo, span, step, integer):
    hi = lo + span
    try:
        out = validate.number(value, name="x", minimum=lo, maximum=hi, step=step, integer=integer)
    except InputError as err:
        assert str(err).startswith("x must be a ")
        assert (not math.isfinite(value) or not lo <= value <= hi or (integer and not value.is_integer())
                or (step is not None and abs((value - lo) / step - round((value - lo) / step)) > 1e-9))
    else:
        assert math.isfinite(out) and lo <= out <= hi and out == value
        assert type(out) is (int if integer else float)
        if step is not None:
            k = (out - lo) / step
            assert abs(k - round(k)) <= 1e-6 * max(1.0, abs(k))


@FAST
@given(st.integers(-10, 10), st.integers(0, 40), st.sampled_from([0.1, 0.25, 0.05, 1.5]))
def test_every_grid_point_passes_and_midpoints_fail(lo, k, step):
    value = lo + k * step  # float arithmetic, as a slider computes it
    assert validate.number(value, name="x", minimum=lo, maximum=lo + 40 * step, step=step) == value
    with pytest.raises(InputError, match="in steps of"):
        validate.number(value + step / 2, name="x", minimum=lo, step=step)


@FAST
@given(st.one_of(st.text(max_size=5), st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
                 st.complex_numbers(), st.binary(max_size=3)))
def test_only_numbers_ever_pass(value):
    with pytest.raises(InputError, match=r"^n must be a number; got "):
        validate.number(value, name="n")


def test_choice_takes_the_written_form_of_a_number_choice():
    """The Gradio API documents numeric choices as strings ('2', '4', '128'): those exact strings are the
    numbers, and nothing else written is."""
    for value, options, expected in (("2", (2, 4), 2), ("4", [2, 4], 4), ("128", (128, 256, 512), 128),
                                     ("0.5", [0.5, 1.0], 0.5), ("1.0", [0.5, 1.0], 1.0), ("1", [0.5, 1.0], 1.0),
                                     ("8", [np.int64(4), np.int64(8)], np.int64(8)), ("auto", ["auto", 2], "auto"),
                                     ("2", ["auto", 2], 2), ("2", ["2", 2], "2")):
        got = validate.choice(value, options, name="Scale")
        assert got == expected and type(got) is type(expected), (value, got)
    for bad in ("2.5", " 2", "2 ", "02", "+2", "2.0", "2e0", "0x2", "two", "", "nan", "True", "1"):
        with pytest.raises(InputError) as err:
            validate.choice(bad, (2, 4), name="Scale")
        assert str(err.value) == f"Scale must be one of 2 or 4; got {bad!r}."
    for bad in (float("nan"), True, False, None, [2], b"2", 2.5):
        with pytest.raises(InputError, match="^Scale must be one of 2 or 4; got "):
            validate.choice(bad, (2, 4), name="Scale")
    for bad in ("True", "1", "true"):  # booleans are not numbers: their choices take only True and False
        with pytest.raises(InputError):
            validate.choice(bad, (True, False), name="Ground-truth mode")
    with pytest.raises(InputError):
        validate.choice("nan", [float("nan"), 1.0], name="Scale")


def test_a_huge_number_is_described_not_echoed():
    with pytest.raises(InputError) as info:
        validate.seed(10**400)
    assert "a number with 401 digits" in str(info.value) and "0000000000" not in str(info.value)
    with pytest.raises(InputError, match="got 18446744073709551616"):
        validate.seed(2**64)
