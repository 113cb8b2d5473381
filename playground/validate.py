"""Server-side checks for every number and choice that comes from outside.

Gradio's sliders and dropdowns limit what a browser sends, but raw HTTP and API clients can send
NaN, infinities, strings, booleans and off-step values, so each handler passes its inputs through here.
Failures raise InputError with a message that names the field and says what it accepts.
"""
import math

import numpy as np

from .errors import InputError

MAX_SEED = 2**31 - 1  # the same as playground.devices.MAX_SEED (not imported: that module imports torch)


def number(value, *, name, minimum=None, maximum=None, step=None, integer=False):
    """`value` as an int or float, if it is a finite number within [minimum, maximum] on the step grid.

    The grid starts at `minimum` (or 0). integer=True also requires a whole value and returns an int.
    Booleans, strings (even "3"), None and containers are refused.
    """
    if step is not None and not step > 0:
        raise ValueError(f"step must be positive, not {step!r}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(_must_be(name, minimum, maximum, step, integer, value))
    eps = float(np.finfo(value).eps) if isinstance(value, np.floating) else 2.0**-52  # float32 is coarser
    value = int(value) if isinstance(value, (int, np.integer)) else float(value)
    whole = isinstance(value, int) or value.is_integer()
    ok = (isinstance(value, int) or math.isfinite(value)) and (whole or not integer)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    ok = ok and (step is None or _on_grid(value, minimum or 0, step, eps))
    if not ok:
        raise InputError(_must_be(name, minimum, maximum, step, integer, value))
    return int(value) if integer else value


def seed(value, name="Seed"):
    """A random seed: a whole number from 0 to 2**31 - 1."""
    return number(value, name=name, minimum=0, maximum=MAX_SEED, integer=True)


def choice(value, options, *, name):
    """`value` if it is exactly one of `options` (no trimming, no case folding), else InputError.

    A number option is also chosen by its written form ('2' for 2; '0.5' for 0.5; '1.0' or '1' for 1.0),
    as the Gradio API documents numeric choices as strings, and the number is returned. No other string
    stands for a number: ' 2', '02', '2.0' (for 2), '2e0' and 'True' are refused.
    """
    options = list(options)
    if not options:
        raise ValueError("choice needs at least one option")
    for option in options:
        if _same(value, option):
            return option
    if isinstance(value, str):
        for option in options:
            if _finite_number(option) and value in (str(option), _fmt(option)):
                return option
    shown = [repr(o) if isinstance(o, str) else _fmt(o) for o in options[:20]]
    listing = (", ".join(shown[:-1]) + " or " + shown[-1]) if len(shown) > 1 else shown[0]
    if len(options) > 20:
        listing = ", ".join(shown) + f", ... ({len(options)} choices)"
    raise InputError(f"{name} must be one of {listing}; got {_shown(value)}.")


def _same(value, option):
    """Equal and of the same kind: "3" is not 3, True is not 1."""
    for kind in (str, (bool, np.bool_)):
        if isinstance(value, kind) or isinstance(option, kind):
            return isinstance(value, kind) and isinstance(option, kind) and value == option
    try:
        return bool(value == option)
    except Exception:  # noqa: BLE001 - e.g. arrays, whose == is not a yes or no
        return False


def _finite_number(x):
    if isinstance(x, (bool, np.bool_)):
        return False
    return isinstance(x, (int, np.integer)) or (isinstance(x, (float, np.floating)) and math.isfinite(x))


def _on_grid(value, base, step, eps):
    if all(isinstance(v, int) for v in (value, base, step)):
        return (value - base) % step == 0
    try:
        offset = value - base
        k = round(offset / step)
        tolerance = 1e-9 * step + 4 * eps * max(abs(value), abs(base), step)
        return abs(offset - k * step) <= tolerance
    except OverflowError:  # an int too large for a float is no grid point of a float step
        return False


def _must_be(name, minimum, maximum, step, integer, value):
    what = "a whole number" if integer else "a number"
    if minimum is not None and maximum is not None:
        what += f" from {_fmt(minimum)} to {_fmt(maximum)}"
    elif minimum is not None:
        what += f" of at least {_fmt(minimum)}"
    elif maximum is not None:
        what += f" of at most {_fmt(maximum)}"
    if step is not None and not (integer and step == 1):
        what += f" in steps of {_fmt(step)}"
    return f"{name} must be {what}; got {_shown(value)}."


def _fmt(x):
    """3 for 3 and 3.0, 0.1 for 0.1: numbers as a person would write them."""
    if isinstance(x, (float, np.floating)) and math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    if isinstance(x, (int, np.integer)) and abs(int(x)) >= 10**21:
        return f"a number with {len(str(abs(int(x)))) if abs(int(x)) < 10**4000 else 'thousands of'} digits"
    try:
        return str(x)
    except ValueError:  # ints beyond Python's 4300-digit str limit
        return "a number with thousands of digits"


def _shown(value):
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return _fmt(value)
    return f"a {type(value).__name__}"
