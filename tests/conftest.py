"""Shared fixtures: everything offline, one thread, and a live app on a free loopback port."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
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
           "PYTHONUNBUFFERED": "1", **(env or {})}
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


def _serve():
    ARTIFACTS.mkdir(exist_ok=True)
    proc, url = start_app()
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
dataset: fashion-mnist
license: MIT
params: {params}
resolution: 28x28
train_command: null
metrics: {{}}
metrics_command: python -m playground.evaluate {id} --write
---
Tiny test model.
"""


def write_tiny_card(cards_dir, model_id, family, model):
    """A card for a tiny untrained Fashion-MNIST test model, with its real parameter count."""
    params = sum(p.numel() for p in model.parameters())
    (Path(cards_dir) / f"{model_id}.md").write_text(TINY_CARD.format(id=model_id, family=family, params=params))
