"""Benchmark: the numbers the README publishes, regenerated in one command.

    python -m playground.bench [--quick] [--out bench.json] [--readme README.md] [--threads 1] [--cards]
    python -m playground.bench --load [--clients 30 --seconds 60]
    python -m playground.bench --watermark [--quick] [--readme README.md]
    python -m playground.bench --cas [--quick] [--readme README.md]
    python -m playground.bench --refresh-cross docs/bench.json [--readme README.md]

Each card is measured in a fresh process (cold load seconds, warm p50/p95 latency of its
family's default action, peak resident memory), shown per family beside the card's headline
metrics; each tab's bench_cases() are timed; every family draws from one seed on each data set and
is scored against the same real images (playground.compare, seeded: a rerun gives the same
quality figures); the app is started on a free loopback port to time start-up until it serves and
an API round trip against the same direct call; and a bounded load test (playground.load) runs 30
concurrent clients for 60 s. --cards first refreshes every card's metrics (playground.evaluate
--all --write). Writes JSON, prints markdown, and with --readme replaces the README's section
between the bench markers.
"""
import argparse
import importlib
import json
import os
import pkgutil
import platform
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

from . import cas_bench, classroom, compare, datasets, registry, watermark_bench
from .cards import REPO_ROOT, write_section
from .devices import versions
from .load import free_port, measure_load, percentile, wait_until_serving

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_one(model_id, runs, reg=None):
    """In this process: cold load, then `runs` timed default actions."""
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




def measure_cases(module_name, runs):
    """In this process: each of a tab's bench cases, after one warm-up call (which loads models).
    A case function may carry `max_runs` and `warm_up = False` (a slow baseline, such as naive PixelCNN
    sampling, whose one long run dwarfs the model's load)."""
    module = importlib.import_module(f"playground.actions.{module_name}")
    rows = []
    for label, fn in module.bench_cases().items():
        if getattr(fn, "warm_up", True):
            fn(0)
        times = []
        for i in range(min(runs, getattr(fn, "max_runs", runs))):
            start = time.perf_counter()
            fn(i + 1)
            times.append(time.perf_counter() - start)
        rows.append({"case": label, "p50_ms": round(1000 * statistics.median(times), 1),
                     "p95_ms": round(1000 * percentile(times, 0.95), 1), "runs": len(times)})
    return rows


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


def action_modules():
    """The modules of playground/actions, by name: a tab's actions may offer bench_cases() and round_trip()."""
    from . import actions
    return [importlib.import_module(f"playground.actions.{m.name}") for m in pkgutil.iter_modules(actions.__path__)]


def app_call(reg):
    """(api name, arguments, direct callable) for the round-trip comparison: the first tab's action that
    offers a round trip (a real model call, e.g. a GAN grid), else the models table."""
    for module in action_modules():
        call = getattr(module, "round_trip", lambda _reg: None)(reg)
        if call:
            return call
    return "models_status", [], reg.status


def measure_app(runs, threads):
    """Seconds from `python app.py` to serving, and an API round trip against the same direct call."""
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(threads), PLAYGROUND_WARM="0")  # time the app alone
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(proc, url)
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
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "threads": threads, "device": "cuda" if torch.cuda.is_available() else "cpu", "versions": versions()}


HEADLINE = 3  # card metrics shown per model in the family tables


def _family_tables(models, cards):
    lines = []
    for family in sorted({r.get("family", "") for r in models}):
        lines += ["", f"**{family}**", "",
                  "| model | default action | cold load (s) | p50 (ms) | p95 (ms) | peak RSS (MB) | card metrics |",
                  "|---|---|---|---|---|---|---|"]
        for r in (r for r in models if r.get("family", "") == family):
            metrics = ", ".join(f"{k} {v:.4g}" for k, v in list(cards.get(r["id"], {}).items())[:HEADLINE])
            lines.append(f"| {r['id']} | {r['error']} | | | | | {metrics} |" if "error" in r else
                         f"| {r['id']} | {r.get('action', '')} | {r['load_s']} | {r['p50_ms']} | {r['p95_ms']} | "
                         f"{r['peak_rss_mb']} | {metrics} |")
    return lines


def _cross_tables(cross):
    lines = []
    for dataset, c in cross.items():
        record = next((d for d in datasets.DATASETS.values() if d.label == dataset), None)
        net, label = (record.features_id, record.fd_label) if record else (None, "FD")
        fd = f" FD is {label}: the Frechet distance on {net}'s features." if net else ""
        again = f" Re-measured on {c['remeasured']} by `--refresh-cross`." if c.get("remeasured") else ""
        lines += ["", f"**Every family on {dataset}**: {c['n']} images per model, seed {c['seed']}, each diffusion model "
                  f"at its default sampler, against the same real images (the first rows; see the Compare tab).{fd}{again}",
                  "",
                  "| " + " | ".join(compare.COLUMNS) + " |", "|" + "---|" * len(compare.COLUMNS)]
        lines += ["| " + " | ".join(str(r.get(col, "")) for col in compare.COLUMNS) + " |" for r in c.get("rows", [])]
        if "error" in c:
            lines.append(f"(failed: {c['error']})")
    return lines


QUALITY = ("FD", "KD", "precision", "recall", "density", "coverage", "memorisation rate", "bits/dim (card)")


def rerun_change(before, after):
    """The largest relative change of a quality figure (the cross-family tables) between two bench results:
    {"compared": n, "max_change": fraction, "where": "data set / model / column"}; rows and columns present in
    only one of them are not compared."""
    worst, where, compared = 0.0, "", 0
    for dataset, c in after.get("cross", {}).items():
        old_rows = {r["model"]: r for r in before.get("cross", {}).get(dataset, {}).get("rows", [])}
        for row in c.get("rows", []):
            for col in QUALITY:
                a, b = old_rows.get(row["model"], {}).get(col, ""), row.get(col, "")
                if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                    compared += 1
                    change = abs(b - a) / max(abs(a), 1e-9) if a != b else 0.0
                    if change > worst or not where:
                        worst, where = change, f"{dataset} / {row['model']} / {col}"
    return {"compared": compared, "max_change": round(worst, 6), "where": where}


def _rerun_line(x):
    return (f"Rerun: against {x['against']}, {x['compared']} quality figures compared; the largest relative change "
            f"is {100 * x['max_change']:.2f}% ({x['where']}).")


def _load_line(x):
    skipped = f"; skipped, model not installed: {', '.join(x['skipped'])}" if x.get("skipped") else ""
    wall = f" (the last call ended at {x['wall_s']} s)" if x.get("wall_s", 0) > x["seconds"] + 1 else ""
    return (f"Load: {x['clients']} clients for {x['seconds']} s{wall} on loopback through the HTTP API "
            f"({', '.join(x['actions'])}{skipped}): "
            f"{x['calls']} calls, {x['ok']} completed, {x['queue_full']} refused as queue full, {x['errors']} other errors; "
            f"latency p50 {x['p50_s']} s, p95 {x['p95_s']} s; server memory peak {x['peak_rss_mb']} MB against a "
            f"registry budget of {x['budget_mb']} MB plus 1 GB ({'within' if x['within_budget'] else 'OVER'}); "
            f"{'still serving' if x['still_serving'] else 'NOT serving'} afterwards.")


def markdown(result, cards=None):
    m = result["machine"]
    lines = [f"Measured by `python -m playground.bench{' --quick' if result['quick'] else ''}` on "
             f"{m['platform']}, {m['cpus']} CPUs, {m['threads']} torch thread(s), device {m['device']}, "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + "."]
    lines += _family_tables(result["models"], cards or {})
    if result.get("cases"):
        lines += ["", "| what a tab does | p50 (ms) | p95 (ms) |", "|---|---|---|"]
        lines += [f"| {c['case']} | {c['error']} | |" if "error" in c else
                  f"| {c['case']} | {c['p50_ms']} | {c['p95_ms']} |" for c in result["cases"]]
    lines += _cross_tables(result.get("cross", {}))
    a = result.get("app")
    if a:
        lines += ["", f"App: serving {a['startup_s']} s after start with no model loaded; an API round trip of "
                  f"`{a['call']}` takes {a['api_p50_ms']} ms against {a['direct_p50_ms']} ms for the direct call "
                  f"({a['api_over_direct']}x)."]
    if result.get("load"):
        lines += ["", _load_line(result["load"])]
    if result.get("rerun"):
        lines += ["", _rerun_line(result["rerun"])]
    return "\n".join(lines)


QUICK_CROSS_N = 100  # images per model in --quick's cross-family tables; the full run takes each data set's compare_max


def measure_cross(dataset_name, n, seed=0):
    """The Compare tab's table for every default model of a data set (playground.compare)."""
    rows = []
    for rows, _, _ in compare.run(dataset_name, compare.defaults(compare.dataset_key(dataset_name)), n, seed):
        pass
    return {"n": n, "seed": seed, "rows": rows}


def measure_every_cross(threads, quick):
    """{data set label: its cross-family table}, each measured in a fresh process."""
    return {name: _subprocess_json(["--cross", name, "--n", str(n)], threads, lambda e: {"n": n, "seed": 0, "error": e})
            for name, n in ((d.label, QUICK_CROSS_N if quick else d.compare_max) for d in datasets.DATASETS.values())}


def refresh_cross(path, threads, quick=False):
    """Re-measure an earlier bench result's cross-family tables in place (its timings are kept as they were; a
    rerun line comparing the old tables is dropped)."""
    result = json.loads(path.read_text())
    day = time.strftime("%Y-%m-%d")
    result["cross"] = {name: dict(c, remeasured=day) for name, c in measure_every_cross(threads, quick).items()}
    result.pop("rerun", None)  # a rerun's comparison was of the tables just replaced
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def _subprocess_json(flags, threads, fallback):
    out = subprocess.run([sys.executable, "-m", "playground.bench", *flags, "--threads", str(threads)],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else fallback(out.stderr[-300:])
    print(json.dumps(result)[:300], file=sys.stderr, flush=True)
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer runs and images (at most 10 minutes on 2 cores)")
    ap.add_argument("--out", default=None, help="JSON file to write")
    ap.add_argument("--readme", default=None, help="README to update between the bench markers")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--load", action="store_true", help="run only the load test and print its result")
    ap.add_argument("--cards", action="store_true", help="first refresh every card's metrics and the README's "
                    "models table (python -m playground.evaluate --all --write: hours on 2 cores)")
    ap.add_argument("--against", default=None, help="an earlier bench JSON: report the largest change of a quality "
                    "figure against it (a seeded rerun should change none by more than 2%%)")
    ap.add_argument("--from", dest="source", default=None, help="an earlier bench JSON to render again with the "
                    "cards' metrics as they are now, measuring nothing (after `evaluate --write` changed a card)")
    ap.add_argument("--classroom", action="store_true", help="run only the classroom bench and print its result")
    ap.add_argument("--students", type=int, default=None, help="simulated students in the classroom bench "
                    "(default 30; 10 with --quick)")
    ap.add_argument("--watermark", action="store_true", help="run only the watermark's robustness table (writes "
                    "playground/assets/watermark.json, which the Data tab shows)")
    ap.add_argument("--cas", action="store_true", help="run only the generated-data table: CAS and the augmentation "
                    "curves (writes playground/assets/cas.json, which the Compare tab shows)")
    ap.add_argument("--refresh-cross", metavar="BENCH_JSON", default=None, help="re-measure only the cross-family "
                    "tables (after a model was retrained) into an earlier full bench result, keep its other figures, "
                    "note the date of this pass, write the JSON back and republish")
    ap.add_argument("--app-root", default=None, help=argparse.SUPPRESS)  # the classroom bench of another checkout
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cases", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cross", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=100, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.source:
        _publish(json.loads(Path(args.source).read_text()), registry.Registry(), args.readme)
        return 0
    if args.load:
        print(_load_line(measure_load(args.clients, args.seconds, args.threads)))
        return 0
    if args.watermark:
        torch.set_num_threads(args.threads)
        watermark_bench.run(args.quick, args.readme)
        return 0
    if args.cas:
        torch.set_num_threads(args.threads)
        cas_bench.run(args.quick, args.readme)
        return 0
    students, class_seconds = args.students or (10 if args.quick else 30), 60 if args.quick else 120
    if args.classroom:
        result = classroom.measure_classroom(students, class_seconds, args.threads, args.app_root)
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
        print(classroom.markdown(result))
        if args.readme:
            write_section(args.readme, classroom.START, classroom.END, classroom.markdown(result))
        return 0
    torch.set_num_threads(args.threads)
    runs = args.runs or (5 if args.quick else 20)
    if args.refresh_cross:
        refresh_cross(Path(args.refresh_cross), args.threads, args.quick)
        _publish(json.loads(Path(args.refresh_cross).read_text()), registry.Registry(), args.readme)
        return 0
    if args.one or args.cases or args.cross:
        print(json.dumps(measure_one(args.one, runs) if args.one else measure_cases(args.cases, runs) if args.cases
                         else measure_cross(args.cross, args.n)))
        return 0
    if args.cards:
        subprocess.run([sys.executable, "-m", "playground.evaluate", "--all", "--write", "--threads", str(args.threads)],
                       cwd=REPO_ROOT, check=True)
        if args.readme:
            subprocess.run([sys.executable, "-m", "playground.evaluate", "--readme", args.readme], cwd=REPO_ROOT,
                           check=True)
    reg = registry.Registry()
    rows = []
    for model_id, card in sorted(reg.cards().items()):
        if reg.availability(model_id) not in ("local", "cached"):
            rows.append({"id": model_id, "family": card.family, "error": reg.availability(model_id)})
            continue
        rows.append(_subprocess_json(["--one", model_id, "--runs", str(runs)], args.threads,
                                     lambda e: {"id": model_id, "family": card.family, "error": "failed: " + e}))
    cases = []
    for name in (m.__name__.rsplit(".", 1)[1] for m in action_modules() if hasattr(m, "bench_cases")):
        cases += _subprocess_json(["--cases", name, "--runs", str(runs)], args.threads,
                                  lambda e: [{"case": f"{name} tab", "error": "failed: " + e}])
    result = {"quick": args.quick, "machine": machine(args.threads), "models": rows, "cases": cases,
              "cross": measure_every_cross(args.threads, args.quick),
              "app": measure_app(runs, args.threads), "load": measure_load(args.clients, args.seconds, args.threads),
              "classroom": classroom.measure_classroom(students, class_seconds, args.threads)}
    if args.against:
        result["rerun"] = dict(rerun_change(json.loads(Path(args.against).read_text()), result),
                               against=Path(args.against).name)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    _publish(result, reg, args.readme)
    print(classroom.markdown(result["classroom"]))
    if args.readme:
        write_section(args.readme, classroom.START, classroom.END, classroom.markdown(result["classroom"]))
    return 0


def _publish(result, reg, readme=None):
    """Print a bench result with the cards' metrics as they are now, and write it into the README's section."""
    text = markdown(result, {i: c.metrics or {} for i, c in reg.cards().items()})
    print(text)
    if readme:
        write_section(readme, START, END, text)


if __name__ == "__main__":
    sys.exit(main())
