"""Device choice and per-call random generators.

torch is imported on first use, not at import, so that the app starts serving sooner.
Every random operation in the playground takes a seed and builds its own torch.Generator
from it, never touching torch's global RNG, so concurrent requests cannot disturb each other.
"""
import os
from importlib.metadata import PackageNotFoundError, version

from .errors import InputError

DEVICE_ENV = "PLAYGROUND_DEVICE"
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
