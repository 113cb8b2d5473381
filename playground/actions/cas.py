"""What the Compare tab's "Generated images as training data" view does: show the CAS table and the augmentation
curves `python -m playground.bench --cas` measured (playground/assets/cas.json), and run one small case live."""
import json
import time

from .. import cas, cas_pool, charts, registry, results, validate
from ..errors import InputError, PlaygroundError
from .common import stopped_by

PER_CLASS = (10, 50, 100)    # real images per class the live run offers
MULTIPLES = ("1x", "5x")     # generated images per class, as a multiple of the real ones
LIVE_MAX_DRAW = 500          # images a live run may draw that are not in the generator's stored pool yet
LIVE_STEPS = cas.STEPS       # the bench's recipe (tests lower it)
X, Y = "real images per class", "test accuracy (%)"
LIVE_HEADERS = ["trained on", "training images", "test accuracy (%)", "seconds"]
CAS_HEADERS = ["trained on", "test accuracy (%), mean ± std", "share of real", "weights"]
NOT_MEASURED = ("The generated-data tables have not been measured on this installation: run "
                "`python -m playground.bench --cas` (about an hour on one core).")


def generator_ids():
    """The conditional Fashion-MNIST generators: what the live run may draw from."""
    return cas_pool.conditional_ids()


def read(path=None):
    """The bench's result (playground/assets/cas.json), or None when it was never measured here."""
    try:
        return json.loads((path or cas.ASSET).read_text())
    except (OSError, ValueError):
        return None


def _pct(row):
    return "not measured" if "skipped" in row else f"{100 * row['mean']:.1f} ± {100 * row['std']:.1f}"


def weights_note(result, reg=None):
    """{generator: "current" or "earlier weights (...)"}: whether the asset's numbers are for the weights here."""
    reg = reg or registry.default()
    out = {}
    for model_id, g in result["generators"].items():
        try:
            now = reg.weights_sha256(model_id)
        except PlaygroundError:  # a card or its weights removed since: the numbers are for weights not here
            now = None
        out[model_id] = "current" if now == g["weights_sha256"] else \
            f"measured on earlier weights ({g['weights_sha256'][:12]}); these are {(now or 'missing')[:12]}"
    return out


def measured_curves(result):
    """The curve cells the bench measured (the ones skipped for a capped pool left out)."""
    return [r for r in (result or {}).get("curves", []) if "skipped" not in r]


PAIRS = (("#f4a261", "#d95f02"), ("#74a9cf", "#0570b0"), ("#78c679", "#238443"), ("#9e9ac8", "#54278f"),
         ("#fa9fb5", "#c51b8a"))  # per generator: its 1x line light, its 5x line dark


def colours(result):
    """The plot's colour of each method: real only black, classical augmentation grey, each generator one hue."""
    out = {cas.REAL: "#222222", cas.CLASSICAL: "#9a9a9a"}
    for i, name in enumerate((result or {}).get("generators", {})):
        light, dark = PAIRS[i % len(PAIRS)]
        for m in (result or {}).get("multiples", []):
            if m:
                out[cas.with_generated(name, m)] = light if m == 1 else dark
    return out


def y_range(result):
    """The chart's accuracy axis, in %: every mean ± std with a margin (not from 0, which would flatten the lines)."""
    rows = measured_curves(result)
    if not rows:
        return None
    low, high = min(r["mean"] - r["std"] for r in rows), max(r["mean"] + r["std"] for r in rows)
    return [max(0, int(100 * low) - 2), min(100, int(100 * high) + 3)]


def curve_chart(result):
    """The curves as a picture with error bars (one standard deviation over seeds), one line per method; None when
    the bench never measured them here."""
    rows = measured_curves(result)
    if not rows:
        return None
    sizes, shades = list(result["sizes"]), colours(result)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    series = [{"name": m, "colour": shades.get(m, "#444444"),
               "points": [(sizes.index(r["n"]), 100 * r["mean"], 100 * r["std"]) for r in rows if r["method"] == m]}
              for m in methods]
    low, high = y_range(result)
    return charts.line_chart(series, [str(n) for n in sizes], Y, X, y_lim=(low, high))


def cas_rows(result, reg=None):
    if not result:
        return []
    fresh, real = weights_note(result, reg), result["cas"][0]
    rows = [[f"{result['cas_per_class']} real images per class", _pct(real), "100%", ""]]
    for r in result["cas"][1:]:
        share = "" if "skipped" in r else f"{r['mean'] / real['mean']:.0%}"
        rows.append([f"{result['cas_per_class']} per class from {r['method']}", _pct(r), share, fresh[r["method"]]])
    return rows


def curve_headers(result):
    return ["method"] + [f"n = {n}" for n in (result or {}).get("sizes", [])]


def curve_rows(result):
    if not result:
        return []
    methods = list(dict.fromkeys(r["method"] for r in result["curves"]))
    cells = {(r["method"], r["n"]): _pct(r) for r in result["curves"]}
    return [[m] + [cells.get((m, n), "") for n in result["sizes"]] for m in methods]


def about(result, reg=None):
    """The paragraph under the tables: how they were measured, caps, whether the weights are current, verdict."""
    if not result:
        return NOT_MEASURED
    earlier = [i for i, v in weights_note(result, reg).items() if v != "current"]
    capped = [f"{i} (pool capped at {g['pool_per_class']:,} per class: cells that need more are *not measured*)"
              for i, g in result["generators"].items() if g["capped"]]
    text = (f"Measured by `{result['command']}` in {result['minutes']:.0f} min: {result['recipe']}; tested on "
            f"{result['test_set']}; seeds {', '.join(map(str, result['seeds']))}, mean ± standard deviation over "
            f"seeds. Generated images: each generator's default settings ("
            + "; ".join(f"{i}: {g['sampler']}" for i, g in result["generators"].items()) + ").")
    if capped:
        text += " Slow generators: " + ", ".join(capped) + "."
    if earlier:
        text += (f" **{', '.join(earlier)}: these numbers were measured on earlier weights** than the ones installed "
                 "now; rerun the bench to measure the current ones.")
    return text + "\n\n" + "\n".join(f"- {sentence}" for sentence in cas.verdict(result))


def check(model_id, per_class, multiple, seed):
    ids = generator_ids()
    if not ids:
        raise InputError("No generator conditional on the Fashion-MNIST classes is installed here.")
    model_id = validate.choice(model_id, ids, name="Generator")
    per_class = validate.choice(per_class, PER_CLASS, name="Real images per class")
    multiple = validate.choice(multiple, MULTIPLES, name="Generated images added")
    return model_id, per_class, int(multiple[:-1]), validate.seed(seed)


@results.cached("cas.live")
def live(model_id, per_class=10, multiple="5x", seed=0, should_stop=None):
    """One seed of one case of the curves, live: the classifier on per_class real images of each class alone, with
    classical augmentation, and with `multiple` times as many of the generator's images added. Yields (rows in
    LIVE_HEADERS, status) as it draws and after each classifier; should_stop (the view's Stop) ends it there."""
    model_id, per_class, m, seed = check(model_id, per_class, multiple, seed)
    k = m * per_class
    missing = cas_pool.missing_images(model_id, k)
    if missing > LIVE_MAX_DRAW:
        raise InputError(f"That needs {missing:,} more images from {model_id} than it has stored; a live run draws "
                         f"at most {LIVE_MAX_DRAW}. Choose fewer real images per class or 1x, or store a larger pool "
                         "with `python -m playground.bench --cas`.")
    data = cas.real()
    rows, begin = [], time.perf_counter()
    steps = cas_pool.generated_steps(model_id, k)
    try:
        while True:
            done, total, seconds = next(steps)
            yield rows, f"Drawing {missing:,} images from {model_id}: {done * cas_pool.CHUNK} of {missing} done " \
                        f"({seconds:.0f} s)..."
            if stopped_by(should_stop):
                steps.close()
                yield rows, f"Stopped while drawing, after {done * cas_pool.CHUNK} of {missing:,} images (they are " \
                            "kept: the next run starts from there)."
                return
    except StopIteration as finished:
        extra = finished.value
    cases = [("real only", {}), ("real + classical augmentation", {"augmented": True}),
             (f"real + {m}x {model_id}", {"extra": extra})]
    for i, (name, kw) in enumerate(cases):
        yield rows, f"Training classifier {i + 1} of 3 ({name}, {LIVE_STEPS} steps)..."
        start = time.perf_counter()
        acc = cas.case(data, per_class, seed, steps=LIVE_STEPS, should_stop=should_stop, **kw)
        if acc is None:
            yield rows, f"Stopped during classifier {i + 1} of 3: the table keeps the ones done."
            return
        rows.append([name, per_class * cas.CLASSES + (len(extra[0]) if "extra" in kw else 0), round(100 * acc, 2),
                     round(time.perf_counter() - start, 1)])
    yield rows, _summary(rows, model_id, per_class, m, seed, data, time.perf_counter() - begin)


def _summary(rows, model_id, per_class, m, seed, data, seconds):
    base, classical, generated = (r[2] for r in rows)
    if generated > base and generated > classical:
        said = "the generated images helped, and more than classical augmentation"
    elif generated > base:
        said = "the generated images helped, but less than classical augmentation"
    else:
        said = "the generated images did not help"
    bench = read()
    seen = {(r["method"], r["n"]): r for r in (bench or {}).get("curves", []) if "skipped" not in r}
    ref = seen.get((f"real + {m}x {model_id}", per_class)), seen.get(("real only", per_class))
    also = (f" Over the bench's {len(bench['seeds'])} seeds the same case gave {_pct(ref[0])}% against "
            f"{_pct(ref[1])}% for real only." if all(ref) else "")
    return (f"Done in {seconds:.0f} s (seed {seed}, tested on {data.test_name}). Real only {base:.1f}%; with classical "
            f"augmentation {classical:.1f}% ({classical - base:+.1f} points); with {m}x {model_id} images "
            f"{generated:.1f}% ({generated - base:+.1f} points): in this run {said}. One seed: a difference of a point "
            f"or two can be luck.{also}")
