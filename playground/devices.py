"""Device choice, per-call random generators, and byte counts of models and memory budgets.

torch is imported on first use, not at import, so that the app starts serving sooner.
Every random operation in the playground takes a seed and builds its own torch.Generator
from it, never touching torch's global RNG, so concurrent requests cannot disturb each other.
"""
import os
import re
from importlib.metadata import PackageNotFoundError, version

from .errors import InputError

DEVICE_ENV = "PLAYGROUND_DEVICE"
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
MAX_SEED = 2**31 - 1


def available_devices():
    """Names of the devices this machine has, best first; cpu is always last."""
    import torch  # lazy: torch loads on first use, not when the UI is built
    names = []
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    names.append("cpu")
    return names


def pick_device(preference=None):
    """cuda, then mps, then cpu; `preference` (or $PLAYGROUND_DEVICE) overrides."""
    import torch  # lazy: torch loads on first use, not when the UI is built
    preference = preference or os.environ.get(DEVICE_ENV) or None
    if preference in (None, "", "auto"):
        return torch.device(available_devices()[0])
    device = torch.device(preference)
    if device.type not in available_devices():
        raise InputError(f"Device {preference!r} is not available here; choose one of {available_devices()}.")
    return device


def generator(seed, device="cpu"):
    """A fresh torch.Generator seeded with `seed` on `device` (cpu generators for mps)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"Seed must be a whole number from 0 to {MAX_SEED}, not {seed!r}.")
    import torch  # lazy: torch loads on first use, not when the UI is built
    device = torch.device(device)
    gen_device = "cpu" if device.type == "mps" else device
    return torch.Generator(device=gen_device).manual_seed(seed)


def versions(packages=("torch", "diffusers", "gradio", "huggingface_hub", "numpy", "safetensors")):
    """Installed versions of the packages whose numbers a result depends on ("absent" if missing)."""
    out = {}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def set_threads(n):
    """CPU threads each torch call may use, for every thread of the process (app.py's --threads)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 256:
        raise InputError(f"Threads must be a whole number from 1 to 256, not {n!r}.")
    import torch  # lazy: torch loads on first use, not when the UI is built
    torch.set_num_threads(n)


def parse_bytes(text):
    """'4GB', '512 MB', '1.5gb' or a plain byte count -> bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?B?)\s*", str(text), re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"memory budget must look like 4GB or 512MB, not {text!r}")
    unit = match.group(2).upper()
    unit = unit if unit in _UNITS else unit + "B"
    return int(float(match.group(1)) * _UNITS[unit])


def format_bytes(n):
    """A byte count in the unit that fits, as parse_bytes reads it (1 KB = 1024 B): '0 B', '46.3 MB', '4 GB'."""
    units = ["B", "KB", "MB", "GB", "TB"]
    n, i = float(n), 0
    while i < len(units) - 1 and round(n, 1) >= 1024:
        n, i = n / 1024, i + 1
    return f"{round(n, 1):g} {units[i]}" if i else f"{int(n)} B"


def module_bytes(model):
    """Bytes held by a module's parameters and buffers (shared storage counted once)."""
    seen, total = set(), 0
    for t in list(model.parameters()) + list(model.buffers()):
        key = (t.untyped_storage().data_ptr(), t.device)
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
    return total
