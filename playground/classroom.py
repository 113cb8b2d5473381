"""The classroom bench: a class of students clicking through the app at once, on loopback.

    python -m playground.bench --classroom [--students 30] [--quick] [--readme README.md]

The app starts in a subprocess (as playground.load does) with an empty result cache, and the students
arrive once its start-up warm-up has stored the tabs' first results (as when a teacher starts it before
class). Each simulated student follows one lesson
path (PATHS, one per tab; students are spread over them in turn): the tab's default click, one
variation, then the tab's heavy view, with a seeded think time between clicks, and starts the next
path until the time is up (a click started in time runs to its end, or to CLICK_TIMEOUT). Every click
goes through Gradio's HTTP API and its event stream, so a view that streams partial results reports
its first one. It reports, per kind of click (cheap, heavy), the time to the first visible output and
to completion (p50, p95), errors, queue-full replies and clicks still running at CLICK_TIMEOUT, and
the server's peak resident memory against the registry budget plus 1 GB.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import registry
from .cards import REPO_ROOT, list_cards
from .load import SLACK_BYTES, UPLOAD, _rss_bytes, free_port, percentile, upload_payload, wait_until_serving

START, END = "<!-- classroom:start -->", "<!-- classroom:end -->"  # the README's classroom section
WARM_TIMEOUT = 1800  # seconds to wait for the app's start-up warm-up before the students arrive anyway
CLICK_TIMEOUT = 600  # a click not finished by then counts as timed out (the bench's run stays bounded)
THINK_S = (3.0, 10.0)  # seconds a student looks at a result before the next click, drawn uniformly
CHEAP, HEAVY = "cheap", "heavy"
# (tab, [(kind, api name, arguments)]): what a student does in a lesson on that tab, in order (a path
# naming a model id, in any argument, that is not installed is skipped)
PATHS = [
    ("GAN", [(CHEAP, "generate", ["gan-faces", "all classes, in turn", 0, 4, 1]),
             (CHEAP, "generate", ["gan-faces", "all classes, in turn", 1, 4, 0.7]),
             (HEAVY, "gan_two_settings", ["gan-faces", 1.0, 0.6, 0])]),
    ("VAE", [(CHEAP, "reconstruct", ["vae-fashion", "test image", 0, None, None, "mean", 0]),
             (CHEAP, "sample", ["vae-fashion", 0, 1, 6, "mean", "Gaussian fitted to real images' codes"]),
             (HEAVY, "vae_two_settings", ["vae-fashion", 1.0, 0.6, 0])]),
    ("Diffusion", [(CHEAP, "diffusion_generate", ["ddpm-fashion", "every class in turn", 2, "DPM-Solver++", 20, 0, 4]),
                   (CHEAP, "diffusion_generate", ["ddpm-fashion", "every class in turn", 4, "DPM-Solver++", 20, 0, 4]),
                   (HEAVY, "compare_samplers", ["ddpm-fashion", "every class in turn", 2, 0,
                                                ["DDPM", "DDIM", "DPM-Solver++", "Euler ancestral"], [5, 10, 20, 50]])]),
    ("PixelCNN", [(CHEAP, "pixelcnn_sample", ["pixelcnn-fashion", "every class in turn", 1, 0, 4, True]),
                  (CHEAP, "pixelcnn_likelihood", ["pixelcnn-fashion", "test image", 0, None, None]),
                  (HEAVY, "pixelcnn_two_settings", ["pixelcnn-fashion", 1.0, 0.8, 0])]),
    ("Style transfer", [(CHEAP, "style_fast", [None, "astronaut", None, "starry_night", 256, False,
                                               "style-fast-starry-night", 1]),
                        (CHEAP, "style_baseline", [None, "astronaut", None, "starry_night", 256,
                                                   "Reinhard colour transfer"]),
                        (HEAVY, "style_optimise", [None, "astronaut", None, "starry_night", 256, "style-loss-random",
                                                   False, 1000, 1, 0.01, 100, "content", 0])]),
    ("Super-resolution", [(CHEAP, "superres_upscale", [UPLOAD, 4, True]),
                          (CHEAP, "superres_upscale", [UPLOAD, 2, True])]),
    ("Compare", [(HEAVY, "compare", ["Fashion-MNIST", ["gan-fashion", "vae-fashion", "ddpm-fashion",
                                                       "pixelcnn-fashion"], 100, 0, "each model's default", 20])]),
    ("Data", [(CHEAP, "data_sample", ["Fashion-MNIST", 6, 0]), (CHEAP, "data_sample", ["ORL faces", 6, 1]),
              (CHEAP, "models_status", [])]),
]


def stream_click(url, api_name, data, timeout=CLICK_TIMEOUT):
    """One click through the HTTP API: (outcome, seconds to the first output, seconds to the end).

    outcome is 'ok', 'queue full', 'timed out' or an error's text; the first output is the first event
    carrying data (a streamed partial result, or the final one)."""
    start = time.perf_counter()
    first = None
    body = json.dumps({"data": data}).encode()
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            event_id = json.load(r)["event_id"]
        event, text = None, []
        with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=timeout) as r:
            for raw in r:
                line = raw.decode().rstrip("\n")
                text.append(line)
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event in ("generating", "complete") and first is None:
                    first = time.perf_counter() - start
                if event in ("complete", "error") and line.startswith("data: "):
                    break
                if time.perf_counter() - start > timeout:
                    return "timed out", first, time.perf_counter() - start
    except TimeoutError:
        return "timed out", first, time.perf_counter() - start
    except (urllib.error.URLError, OSError) as e:
        return f"transport: {e}", first, time.perf_counter() - start
    end = time.perf_counter() - start
    whole = "\n".join(text)
    if event == "complete":
        return "ok", first, end
    return ("queue full" if "queue is full" in whole.lower() else f"{api_name}: {whole[-300:]}"), first, end


def runnable_paths(reg):
    """The PATHS whose models this registry can load (a path naming a missing model is left out)."""
    known = {c.id for c in list_cards()}  # the project's own model ids, whichever registry is asked
    cards = reg.cards()
    usable = {i for i in cards if reg.availability(i) in ("local", "cached")}

    def needs(args):
        flat = [b for a in args for b in (a if isinstance(a, list) else [a])]
        return [a for a in flat if isinstance(a, str) and a in known]
    return [(tab, steps) for tab, steps in PATHS
            if all(m in usable for _, _, args in steps for m in needs(args))]


def summarise(clicks):
    """Per kind of click: counts and the p50/p95 of first-output and completion seconds of completed clicks."""
    out = {}
    for kind in (CHEAP, HEAVY):
        mine = [c for c in clicks if c["kind"] == kind]
        done = [c for c in mine if c["outcome"] == "ok"]

        def p(key, q, rows=done):
            values = [c[key] for c in rows if c[key] is not None]
            return round(percentile(values, q), 2) if values else None
        out[kind] = {"clicks": len(mine), "ok": len(done),
                     "queue_full": sum(c["outcome"] == "queue full" for c in mine),
                     "timed_out": sum(c["outcome"] == "timed out" for c in mine),
                     "errors": sum(c["outcome"] not in ("ok", "queue full", "timed out") for c in mine),
                     "first_p50_s": p("first_s", 0.5), "first_p95_s": p("first_s", 0.95),
                     "done_p50_s": p("done_s", 0.5), "done_p95_s": p("done_s", 0.95)}
    return out


def _student(k, url, paths, deadline, upload, clicks, lock):
    rng = random.Random(k)
    turn = k
    while time.monotonic() < deadline:
        tab, steps = paths[turn % len(paths)]
        turn += 1
        for kind, name, args in steps:
            if time.monotonic() >= deadline:
                return
            data = [upload if a == UPLOAD else a for a in args]
            outcome, first, done = stream_click(url, name, data)
            with lock:
                clicks.append({"student": k, "tab": tab, "kind": kind, "api": name, "outcome": outcome,
                               "first_s": first, "done_s": done})
            time.sleep(rng.uniform(*THINK_S))


def _wait_for_warm_up(log_path, timeout=WARM_TIMEOUT):
    """Seconds until the app logged that its result cache is warm (the class arrives after the teacher started
    the app), or None for an app that does not warm one (it says so within a few seconds of serving)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        text = log_path.read_text(errors="replace")
        if "result cache warm" in text:
            return round(time.monotonic() - start, 1)
        if "warming the result cache" not in text and time.monotonic() - start > 20:
            return None
        time.sleep(1)
    return round(time.monotonic() - start, 1)


def measure_classroom(students=30, seconds=120, threads=1, app_root=None):
    """Start the app (app_root: another checkout's, to measure it), wait for its warm-up, run `students`
    simulated students for `seconds`, and report (see the module docstring)."""
    paths = runnable_paths(registry.Registry())
    skipped = sorted({t for t, _ in PATHS} - {t for t, _ in paths})
    port = free_port()
    # the app as a teacher runs it: its default memory budget (the load test's small one forces evictions)
    env = {k: v for k, v in os.environ.items() if k != registry.BUDGET_ENV}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(threads), GRADIO_ANALYTICS_ENABLED="False",
               PLAYGROUND_RESULTS_DIR=tempfile.mkdtemp(prefix="classroom-"), PYTHONUNBUFFERED="1")
    log = tempfile.NamedTemporaryFile("w+", prefix="classroom-app-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=app_root or REPO_ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    clicks, lock, peak = [], threading.Lock(), 0
    try:
        wait_until_serving(proc, url)
        warm_s = _wait_for_warm_up(Path(log.name))
        began = time.monotonic()
        upload = upload_payload()
        workers = [threading.Thread(target=_student, args=(k, url, paths, began + seconds, upload, clicks, lock),
                                    daemon=True) for k in range(students)]
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            peak = max(peak, _rss_bytes(proc.pid))
            time.sleep(0.25)
        wall = time.monotonic() - began
        serving = stream_click(url, "models_status", [], timeout=60)[0] == "ok"
    finally:
        proc.terminate()
        proc.wait(10)
    budget = registry.DEFAULT_BUDGET
    errors = sorted({c["outcome"] for c in clicks if c["outcome"] not in ("ok", "queue full", "timed out")})
    return {"students": students, "seconds": seconds, "warm_up_s": warm_s, "wall_s": round(wall, 1), "paths": [t for t, _ in paths],
            "skipped": skipped, "kinds": summarise(clicks), "error_examples": errors[:3],
            "by_api": {name: summarise([c for c in clicks if c["api"] == name])
                       for name in sorted({c["api"] for c in clicks})},
            "peak_rss_mb": round(peak / 2**20), "budget_mb": round(budget / 2**20),
            "within_budget": peak <= budget + SLACK_BYTES, "still_serving": serving}


def markdown(x):
    """The classroom bench as a short table and a line, for the README's bench section."""
    warm = (f"after the app's {x['warm_up_s']} s warm-up of the result cache, " if x.get("warm_up_s") is not None
            else "as soon as the app served (it warms no result cache), ")
    lines = [f"Classroom: {x['students']} simulated students for {x['seconds']} s on loopback, {warm}(the last click "
             f"ended at {x['wall_s']} s), each following a lesson path ({', '.join(x['paths'])}) with {THINK_S[0]:g}-"
             f"{THINK_S[1]:g} s of thinking between clicks"
             + (f"; skipped, model not installed: {', '.join(x['skipped'])}" if x["skipped"] else "") + ".",
             "", "| clicks | made | completed | first output p50 / p95 (s) | completed p50 / p95 (s) | "
                 "queue full | timed out | errors |", "|---|---|---|---|---|---|---|---|"]
    for kind, k in x["kinds"].items():
        lines.append(f"| {kind} | {k['clicks']} | {k['ok']} | {k['first_p50_s']} / {k['first_p95_s']} | "
                     f"{k['done_p50_s']} / {k['done_p95_s']} | {k['queue_full']} | {k['timed_out']} | {k['errors']} |")
    lines += ["", f"Server memory peak {x['peak_rss_mb']} MB against a registry budget of {x['budget_mb']} MB plus "
                  f"1 GB ({'within' if x['within_budget'] else 'OVER'}); "
                  f"{'still serving' if x['still_serving'] else 'NOT serving'} afterwards."]
    return "\n".join(lines)
