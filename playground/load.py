"""A bounded load test: many concurrent API clients on loopback against the app's default actions.

    python -m playground.bench --load [--clients 30 --seconds 60]

The app is started in a subprocess on a free 127.0.0.1 port with a small memory budget. The clients
take CALLS (one default action per tab, through gradio's HTTP API) in turn from one shared round
robin until the time is up, and never stop before every call has been made once. A call started in
time runs to its end, so the run outlasts `seconds` (wall_s: until the last call ended; with fewer
clients than calls, until every call was made once). Calls whose model is not installed are skipped
(available_calls) and listed. It reports the calls made, how many completed, how many the queue
refused ("queue full", expected under overload) and every other error (expected: none), overall and
per action, the p50 and p95 latency of completed calls, and the server's peak resident memory
against the registry's budget (BUDGET) plus 1 GB. The Style transfer and
Super-resolution calls upload a small seeded picture (upload_payload) as a data: URL, the way an
API client sends a file.
"""
import base64
import io
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
from PIL import Image

from . import registry
from .cards import REPO_ROOT

UPLOAD = "<upload>"  # in CALLS: replaced by upload_payload() when the call is sent
CALLS = [  # (api name, arguments, the model it needs or None): a tab's first click, kept small
    ("data_sample", ["Fashion-MNIST", 3, 5], None),
    ("models_status", [], None),
    ("generate", ["gan-fashion", "all classes, in turn", 0, 2, 1.0], "gan-fashion"),
    ("reconstruct", ["vae-fashion", "test image", 3, None, None, "mean", 0], "vae-fashion"),
    ("diffusion_generate", ["ddpm-fashion", "Trouser", 2, "DDIM", 5, 7, 1], "ddpm-fashion"),
    ("pixelcnn_sample", ["pixelcnn-fashion", "Trouser", 1, 3, 1, True], "pixelcnn-fashion"),
    ("compare", ["Fashion-MNIST", ["gan-fashion"], 20, 0, "each model's default", 20], "gan-fashion"),
    # the fast network rather than the tab's Start button: an optimisation's first step imports
    # torch._dynamo (a minute of imports on a loaded machine), which would time the import, not the app
    ("style_fast", [UPLOAD, None, None, "starry_night", 128, False, "style-fast-starry-night", 1],
     "style-fast-starry-night"),
    # x4 in ground-truth mode, the tab's defaults: 16x12 -> 64x48 with every classical and installed x4 method
    ("superres_upscale", [UPLOAD, 4, True], None),
]
BUDGET = "1GB"
SLACK_BYTES = 1 << 30


def free_port():
    """A free TCP port on 127.0.0.1 to start the app on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(proc, url, timeout=300):
    """Poll url until the app process answers (RuntimeError if it exits or takes too long)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the app exited during start-up")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the app did not serve within {timeout} s")


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _call(url, api_name, data, timeout):
    """'ok', 'queue full' or the error's text."""
    body = json.dumps({"data": data}).encode()
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            event_id = json.load(r)["event_id"]
        with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=timeout) as r:
            text = r.read().decode()
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        return f"transport: {e}"
    events = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    if events and events[-1] == "complete":
        return "ok"
    return "queue full" if "queue is full" in text.lower() else f"{api_name}: {text[-300:]}"


def available_calls(ids):
    """(api name, arguments) of the CALLS whose model is installed (ids: installed model ids)."""
    return [(name, args) for name, args, needs in CALLS if needs is None or needs in ids]


def png_payload(image):
    """A PIL image as an API client uploads it: a FileData dict holding a PNG data: URL."""
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return {"url": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(),
            "meta": {"_type": "gradio.FileData"}}


def upload_payload(size=(64, 48), seed=0):
    """A small seeded RGB picture (a gradient with noise, so no method restores it exactly) as png_payload."""
    w, h = size
    ramp = np.add.outer(np.linspace(0, 160, h), np.linspace(0, 80, w))[..., None]
    pixels = (ramp + np.random.default_rng(seed).integers(0, 16, (h, w, 3))).astype(np.uint8)
    return png_payload(Image.fromarray(pixels))


def _installed(reg):
    """The models CALLS need that this registry can load."""
    cards = reg.cards()
    return {m for _, _, m in CALLS if m in cards and reg.availability(m) in ("local", "cached")}


def measure_load(clients=30, seconds=60, threads=1):
    calls = available_calls(_installed(registry.Registry()))
    skipped = sorted({name for name, _, _ in CALLS} - {name for name, _ in calls})
    upload = upload_payload()
    port = free_port()
    # no start-up warm-up (app.warm_results): it would run the heavy views' defaults beside the calls timed here
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(threads), PLAYGROUND_MEMORY_BUDGET=BUDGET,
               GRADIO_ANALYTICS_ENABLED="False", PLAYGROUND_WARM="0")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    results, lock, peak, turn = [], threading.Lock(), [0], itertools.count()
    try:
        wait_until_serving(proc, url)
        start_rss = _rss_bytes(proc.pid)
        began = time.monotonic()
        deadline = began + seconds

        def client():
            while True:
                with lock:
                    k = next(turn)
                if k >= len(calls) and time.monotonic() >= deadline:  # every call made once, and the time is up
                    return
                name, args = calls[k % len(calls)]
                data = [upload if a == UPLOAD else a for a in args]
                t = time.perf_counter()
                outcome = _call(url, name, data, timeout=max(0.0, deadline - time.monotonic()) + 120)
                with lock:
                    results.append((name, outcome, time.perf_counter() - t))

        workers = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            peak[0] = max(peak[0], _rss_bytes(proc.pid))
            time.sleep(0.25)
        wall = time.monotonic() - began
        serving = _call(url, "models_status", [], timeout=30) == "ok"
    finally:
        proc.terminate()
        proc.wait(10)
    ok = [r for r in results if r[1] == "ok"]
    errors = [r[1] for r in results if r[1] not in ("ok", "queue full")]
    budget = registry.parse_bytes(BUDGET)
    latencies = [r[2] for r in ok]
    by_action = {name: {"calls": sum(r[0] == name for r in results),
                        "ok": sum(r[0] == name and r[1] == "ok" for r in results),
                        "queue_full": sum(r[0] == name and r[1] == "queue full" for r in results)}
                 for name, _ in calls}
    for counts in by_action.values():
        counts["errors"] = counts["calls"] - counts["ok"] - counts["queue_full"]
    return {"clients": clients, "seconds": seconds, "wall_s": round(wall, 1), "calls": len(results), "ok": len(ok),
            "queue_full": sum(r[1] == "queue full" for r in results), "errors": len(errors),
            "error_examples": sorted(set(errors))[:3],
            "p50_s": round(percentile(latencies, 0.5), 2) if latencies else None,
            "p95_s": round(percentile(latencies, 0.95), 2) if latencies else None,
            "start_rss_mb": round(start_rss / 2**20), "peak_rss_mb": round(peak[0] / 2**20),
            "budget_mb": round(budget / 2**20), "within_budget": peak[0] <= budget + SLACK_BYTES,
            "still_serving": serving, "actions": sorted(by_action), "by_action": by_action, "skipped": skipped}
