"""Benchmark: every model's load and latency, and the app's start-up and HTTP overhead.

    python -m playground.bench [--quick] [--out bench.json] [--readme README.md] [--threads 1]

Each card is measured in a fresh process (cold load seconds, warm p50/p95 latency of its
family's default action, peak resident memory). The app is started on a free loopback port to
time start-up until it serves, and an API round trip is compared with the same call made
directly. Writes JSON, prints a markdown table, and with --readme replaces the README's section
between the bench markers.
"""
import argparse
import importlib
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .cards import REPO_ROOT, write_section

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def measure_one(model_id, runs, reg=None):
    """In this process: cold load, then `runs` timed default actions."""
    from . import registry
    reg = reg or registry.Registry()
    start = time.perf_counter()
    model = reg.get_model(model_id)
    load = time.perf_counter() - start
    family = registry.family_module(reg.card(model_id).family)
    family.default_action(model, 0)  # warm-up
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        family.default_action(model, seed)
        times.append(time.perf_counter() - start)
    first_line = ((family.default_action.__doc__ or "").strip().splitlines() or [""])[0]
    action = first_line.split(" ->")[0].split(" (")[0].split(". ")[0].strip()
    return {"id": model_id, "family": reg.card(model_id).family, "action": action, "load_s": round(load, 3),
            "p50_ms": round(1000 * statistics.median(times), 1), "p95_ms": round(1000 * percentile(times, 0.95), 1),
            "peak_rss_mb": round(peak_rss_mb(), 1), "runs": runs}


ACTION_MODULES = ("gan", "vae", "diffusion", "pixelcnn", "style")  # playground/actions/<name>.py: bench_cases() -> {label: fn(i)}


def measure_cases(module_name, runs):
    """In this process: each of a tab's bench cases, after one warm-up call (which loads models).
    A case function may carry `max_runs` (a slow baseline, such as naive PixelCNN sampling)."""
    module = importlib.import_module(f"playground.actions.{module_name}")
    rows = []
    for label, fn in module.bench_cases().items():
        fn(0)
        times = []
        for i in range(min(runs, getattr(fn, "max_runs", runs))):
            start = time.perf_counter()
            fn(i + 1)
            times.append(time.perf_counter() - start)
        rows.append({"case": label, "p50_ms": round(1000 * statistics.median(times), 1),
                     "p95_ms": round(1000 * percentile(times, 0.95), 1), "runs": len(times)})
    return rows


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_call(url, api_name, data=()):
    """One call through gradio's HTTP API (POST, then read the event stream); returns its data."""
    body = json.dumps({"data": list(data)}).encode()
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=300) as r:
        lines = r.read().decode().splitlines()
    events = [line[7:] for line in lines if line.startswith("event: ")]
    payloads = [line[6:] for line in lines if line.startswith("data: ")]
    if not events or events[-1] != "complete":
        raise RuntimeError(f"{api_name} failed: {payloads[-1] if payloads else lines}")
    return json.loads(payloads[-1])


def app_call(reg):
    """(api name, arguments, direct callable) for the round-trip comparison: a GAN grid when a
    GAN is here (a real model call), else the models table."""
    gans = sorted(i for i, c in reg.cards().items() if c.family == "gan" and reg.availability(i) == "local")
    if gans:
        from .actions import gan as gan_actions
        return ("generate", [gans[0], gan_actions.ALL, 0, 4, 1.0],
                lambda: gan_actions.generate(gans[0], 0, 4, 1.0, gan_actions.ALL))
    return "models_status", [], reg.status


def measure_app(runs, threads):
    """Seconds from `python app.py` to serving, and an API round trip against the same direct call."""
    from . import registry
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the app exited during start-up")
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        startup = time.perf_counter() - start
        reg = registry.default()
        name, args, direct_call = app_call(reg)
        api_call(url, name, args)  # warm-up: loads the model in the server
        api = []
        for _ in range(runs):
            t = time.perf_counter()
            api_call(url, name, args)
            api.append(time.perf_counter() - t)
        direct_call()
        direct = []
        for _ in range(runs):
            t = time.perf_counter()
            direct_call()
            direct.append(time.perf_counter() - t)
    finally:
        proc.terminate()
        proc.wait(10)
    api_ms, direct_ms = 1000 * statistics.median(api), 1000 * statistics.median(direct)
    return {"startup_s": round(startup, 2), "call": "/" + name, "api_p50_ms": round(api_ms, 1),
            "direct_p50_ms": round(direct_ms, 2), "api_over_direct": round(api_ms / max(direct_ms, 1e-3), 1)}


def machine(threads):
    import torch
    versions = {}
    for name in ("torch", "gradio", "diffusers", "huggingface_hub", "numpy"):
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:
            versions[name] = "absent"
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "threads": threads, "device": "cuda" if torch.cuda.is_available() else "cpu", "versions": versions}


def markdown(result):
    m = result["machine"]
    lines = [f"Measured by `python -m playground.bench{' --quick' if result['quick'] else ''}` on "
             f"{m['platform']}, {m['cpus']} CPUs, {m['threads']} torch thread(s), device {m['device']}, "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".", "",
             "| model | family | default action | cold load (s) | action p50 (ms) | p95 (ms) | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|"]
    for r in result["models"]:
        if "error" in r:
            lines.append(f"| {r['id']} | {r.get('family', '')} | {r['error']} | | | | |")
        else:
            lines.append(f"| {r['id']} | {r['family']} | {r.get('action', '')} | {r['load_s']} | {r['p50_ms']} | "
                         f"{r['p95_ms']} | {r['peak_rss_mb']} |")
    if result.get("cases"):
        lines += ["", "| what a tab does | p50 (ms) | p95 (ms) |", "|---|---|---|"]
        lines += [f"| {c['case']} | {c['error']} | |" if "error" in c else
                  f"| {c['case']} | {c['p50_ms']} | {c['p95_ms']} |" for c in result["cases"]]
    a = result.get("app")
    if a:
        lines += ["", f"App: serving {a['startup_s']} s after start with no model loaded; an API round trip of "
                  f"`{a['call']}` takes {a['api_p50_ms']} ms against {a['direct_p50_ms']} ms for the direct call "
                  f"({a['api_over_direct']}x)."]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None, help="JSON file to write")
    ap.add_argument("--readme", default=None, help="README to update between the bench markers")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cases", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    runs = args.runs or (5 if args.quick else 20)
    if args.one:
        print(json.dumps(measure_one(args.one, runs)))
        return 0
    if args.cases:
        print(json.dumps(measure_cases(args.cases, runs)))
        return 0
    from . import registry
    reg = registry.Registry()
    rows = []
    for model_id, card in sorted(reg.cards().items()):
        if reg.availability(model_id) not in ("local", "cached"):
            rows.append({"id": model_id, "family": card.family, "error": reg.availability(model_id)})
            continue
        out = subprocess.run([sys.executable, "-m", "playground.bench", "--one", model_id, "--runs", str(runs),
                              "--threads", str(args.threads)], cwd=REPO_ROOT, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0
                    else {"id": model_id, "family": card.family, "error": "failed: " + out.stderr[-200:]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    cases = []
    for name in ACTION_MODULES:
        if not hasattr(importlib.import_module(f"playground.actions.{name}"), "bench_cases"):
            continue
        out = subprocess.run([sys.executable, "-m", "playground.bench", "--cases", name, "--runs", str(runs),
                              "--threads", str(args.threads)], cwd=REPO_ROOT, capture_output=True, text=True)
        cases += (json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0
                  else [{"case": f"{name} tab", "error": "failed: " + out.stderr[-200:]}])
        print(json.dumps(cases[-1]), file=sys.stderr, flush=True)
    result = {"quick": args.quick, "machine": machine(args.threads), "models": rows, "cases": cases,
              "app": measure_app(runs, args.threads)}
    text = markdown(result)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    if args.readme:
        write_section(args.readme, START, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
