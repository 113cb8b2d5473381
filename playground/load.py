"""A bounded load test: many concurrent API clients on loopback against the app's default actions.

    python -m playground.bench --load [--clients 30 --seconds 60]

The app is started in a subprocess on a free 127.0.0.1 port with a small memory budget. Each client
loops over CALLS (one default action per tab, through gradio's HTTP API) until the time is up. It
reports the calls made, how many completed, how many the queue refused ("queue full", expected
under overload) and every other error (expected: none), the p50 and p95 latency of completed calls,
and the server's peak resident memory against the registry's budget (BUDGET) plus 1 GB.
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from .cards import REPO_ROOT

CALLS = [  # (api name, arguments): a tab's first click, kept small
    ("data_sample", ["Fashion-MNIST", 3, 5]),
    ("models_status", []),
    ("generate", ["gan-fashion", "all classes, in turn", 0, 2, 1.0]),
    ("reconstruct", ["vae-fashion", "test image", 3, None, None, "mean", 0]),
    ("diffusion_generate", ["ddpm-fashion", "Trouser", 2, "DDIM", 5, 7, 1]),
    ("pixelcnn_sample", ["pixelcnn-fashion", "Trouser", 1, 3, 1, True]),
    ("compare", ["Fashion-MNIST", ["gan-fashion"], 20, 0, "each model's default", 20]),
]
BUDGET = "1GB"
SLACK_BYTES = 1 << 30


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
    """CALLS whose models are installed (ids: installed model ids)."""
    needs = {"generate": "gan-fashion", "reconstruct": "vae-fashion", "diffusion_generate": "ddpm-fashion",
             "pixelcnn_sample": "pixelcnn-fashion", "compare": "gan-fashion"}
    return [(name, args) for name, args in CALLS if needs.get(name, next(iter(ids), None)) in ids]


def measure_load(clients=30, seconds=60, threads=1):
    from . import registry
    from .bench import _free_port, percentile, wait_until_serving
    calls = available_calls(set(registry.Registry().cards()))
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(threads), PLAYGROUND_MEMORY_BUDGET=BUDGET,
               GRADIO_ANALYTICS_ENABLED="False")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    results, lock, peak = [], threading.Lock(), [0]
    try:
        wait_until_serving(proc, url)
        start_rss = _rss_bytes(proc.pid)
        deadline = time.monotonic() + seconds

        def client(i):
            k = i
            while time.monotonic() < deadline:
                name, args = calls[k % len(calls)]
                t = time.perf_counter()
                outcome = _call(url, name, args, timeout=max(5.0, deadline - time.monotonic() + 30))
                with lock:
                    results.append((name, outcome, time.perf_counter() - t))
                k += 1

        workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            peak[0] = max(peak[0], _rss_bytes(proc.pid))
            time.sleep(0.25)
        serving = _call(url, "models_status", [], timeout=30) == "ok"
    finally:
        proc.terminate()
        proc.wait(10)
    ok = [r for r in results if r[1] == "ok"]
    errors = [r[1] for r in results if r[1] not in ("ok", "queue full")]
    budget = registry.parse_bytes(BUDGET)
    latencies = [r[2] for r in ok]
    return {"clients": clients, "seconds": seconds, "calls": len(results), "ok": len(ok),
            "queue_full": sum(r[1] == "queue full" for r in results), "errors": len(errors),
            "error_examples": sorted(set(errors))[:3],
            "p50_s": round(percentile(latencies, 0.5), 2) if latencies else None,
            "p95_s": round(percentile(latencies, 0.95), 2) if latencies else None,
            "start_rss_mb": round(start_rss / 2**20), "peak_rss_mb": round(peak[0] / 2**20),
            "budget_mb": round(budget / 2**20), "within_budget": peak[0] <= budget + SLACK_BYTES,
            "still_serving": serving, "actions": sorted({name for name, _ in calls})}
