"""Shared fixtures: everything offline, one thread, a live app on a free loopback port, and a registry of tiny
models in a temporary folder (tiny_registry)."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# the shared result cache (playground/results.py) of this test run: empty at the start, never the repo's runs/
os.environ.setdefault("PLAYGROUND_RESULTS_DIR", tempfile.mkdtemp(prefix="playground-results-"))
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def pytest_configure(config):
    import torch
    torch.set_num_threads(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(*extra, env=None, root=ROOT, timeout=120):
    """Start root/app.py on a free port (env: extra environment variables); returns (process, url)
    once it answers HTTP."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1", "PLAYGROUND_WARM": "0", **(env or {})}  # warm-up: tests/test_open_results.py
    log = open(ARTIFACTS / f"app-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, str(Path(root) / "app.py"), "--port", str(port), *extra],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"app did not answer within {timeout}s; see {log.name}")


def _serve(env=None):
    ARTIFACTS.mkdir(exist_ok=True)
    proc, url = start_app(env=env)
    yield proc, url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_url():
    """The app for API tests."""
    for _, url in _serve():
        yield url


@pytest.fixture(scope="module")
def fresh_app_url():
    """An app of the module's own, for tests that change what is loaded (the browser tests)."""
    for _, url in _serve():
        yield url


@pytest.fixture(scope="module")
def app_process():
    """(process, url) of an app of the module's own, for tests that watch the server (memory, liveness)."""
    yield from _serve()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client
    return Client(app_url, verbose=False)


TINY_CARD = """---
id: {id}
family: {family}
title: tiny {id}
source: weights/{id}
revision: null
dataset: {dataset}
license: MIT
params: {params}
resolution: {resolution}
train_command: null
metrics: {{}}
metrics_command: python -m playground.evaluate {id} --write
---
Tiny test model.
"""


def write_tiny_card(cards_dir, model_id, family, model, dataset="fashion-mnist", resolution="28x28"):
    """A card for a tiny untrained test model, with its real parameter count."""
    params = sum(p.numel() for p in model.parameters())
    (Path(cards_dir) / f"{model_id}.md").write_text(TINY_CARD.format(id=model_id, family=family, params=params,
                                                                     dataset=dataset, resolution=resolution))


@dataclass(frozen=True)
class TinyModel:
    """One tiny model of a test registry: built from config (by playground.families.<family>.build unless
    build is given), saved to weights/<id> (by registry.save_weights unless save(folder, model, config) is
    given), with a TINY_CARD of this dataset and resolution."""
    family: str
    config: dict
    build: Callable = None
    save: Callable = None
    dataset: str = "fashion-mnist"
    resolution: str = "28x28"


SHIPPED = "shipped"  # a TINY_MODELS entry: the repository's own card, and its weights folder when it has one


@pytest.fixture(scope="module")
def tiny_registry(request, tmp_path_factory):
    """The one test registry: the requesting module's TINY_MODELS ({id: TinyModel(...) or SHIPPED}, written in that
    order after torch.manual_seed(0)) in a temporary root, installed as the default registry (with the module's
    TINY_REGISTRY_OPTIONS, e.g. memory_budget, if any) for the module; the functools caches in its TINY_CACHES
    are cleared when it is installed and when it goes. Yields the root; the previous default comes back after."""
    import torch
    from playground import registry
    module = request.module
    root = tmp_path_factory.mktemp(module.__name__.rsplit(".", 1)[-1])
    cards = root / "model_cards"
    cards.mkdir()
    torch.manual_seed(0)
    for model_id, spec in module.TINY_MODELS.items():
        if spec == SHIPPED:
            shutil.copy(ROOT / "model_cards" / f"{model_id}.md", cards)
            if (ROOT / "weights" / model_id).is_dir():
                shutil.copytree(ROOT / "weights" / model_id, root / "weights" / model_id)
            continue
        model = (spec.build or registry.family_module(spec.family).build)(spec.config)
        (spec.save or registry.save_weights)(root / "weights" / model_id, model, spec.config)
        write_tiny_card(cards, model_id, spec.family, model, spec.dataset, spec.resolution)
    caches = getattr(module, "TINY_CACHES", ())
    before = registry.default()
    registry.configure(cards_dir=cards, root=root, **getattr(module, "TINY_REGISTRY_OPTIONS", {}))
    for cached in caches:
        cached.cache_clear()
    yield root
    registry._default = before
    for cached in caches:
        cached.cache_clear()
