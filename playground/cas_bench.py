"""Generated images as training data, measured: the CAS table and the augmentation curves.

    python -m playground.bench --cas [--quick] [--readme README.md]

For every installed generator conditional on Fashion-MNIST's classes (playground.cas_pool.conditional_ids), the
fixed classifier of playground.cas is trained on CAS_PER_CLASS generated images per class and tested on the real
test images (CAS), beside the same classifier trained on as many real ones; then on n real images per class (SIZES)
alone, with classical augmentation, and with k = 1x and 5x as many generated images per class added, over SEEDS.
A generator's pool is drawn once and kept under runs/cas (playground.cas_pool). A pool of POOL_FULL images per class
that would take more than POOL_MINUTES to draw here (timed on its earlier draws, else on its first chunk) is capped
at POOL_CAPPED per class,
and the cases that need more are left out and marked so. Writes playground/assets/cas.json (the Compare tab shows
it) and the README's section between the cas markers. --quick: SIZES (10,), two seeds, CAS on 50 per class.
"""
import time

from . import cas, cas_pool, registry
from .cards import publish
from .errors import DataMissing
from .families.protocol import generator

START, END = "<!-- cas:start -->", "<!-- cas:end -->"
COMMAND = "python -m playground.bench --cas --readme README.md"
ASSET = cas.ASSET
SIZES, MULTIPLES, SEEDS, CAS_PER_CLASS = (10, 50, 100, 500), (0, 1, 5), (0, 1, 2), 500
QUICK = {"sizes": (10,), "seeds": (0, 1), "cas_per_class": 50}
POOL_FULL, POOL_CAPPED, POOL_MINUTES = 2500, 500, 15
REAL, CLASSICAL, with_generated, verdict = cas.REAL, cas.CLASSICAL, cas.with_generated, cas.verdict


def measure(sources, sizes=SIZES, multiples=MULTIPLES, seeds=SEEDS, cas_per_class=CAS_PER_CLASS, data=None,
            steps=cas.STEPS, log=print):
    """sources: {name: (draw(per_class) -> (images, labels), images per class it can give)}. Returns
    {"cas": rows, "curves": rows}; a row holds cas.summary()'s accuracies, mean and std, or "skipped" (why)."""
    data = data or cas.real()
    memo = {}

    def accuracy(per_class, seed, source=None, k=0, augmented=False):
        key = (per_class, seed, source, k, augmented)
        if key not in memo:
            start = time.perf_counter()
            extra = sources[source][0](k) if source else None
            memo[key] = cas.case(data, per_class, seed, extra, augmented, steps)
            log(f"{per_class} real/class, {k} from {source}, augmented {augmented}, seed {seed}: "
                f"{memo[key]:.4f} ({time.perf_counter() - start:.1f} s)")
        return memo[key]

    def row(method, n, per_seed, need=0, source=None):
        head = {"method": method, "n": n}
        if source and need > sources[source][1]:
            return {**head, "skipped": f"needs {need:,} per class; the pool is capped at {sources[source][1]:,}"}
        return {**head, **cas.summary([per_seed(s) for s in seeds])}

    rows = [row("real", cas_per_class, lambda s: accuracy(cas_per_class, s))]
    rows += [row(name, cas_per_class, lambda s, name=name: accuracy(0, s, name, cas_per_class), cas_per_class, name)
             for name in sources]
    curves = []
    for n in sizes:
        curves.append(row(REAL, n, lambda s: accuracy(n, s)))
        curves.append(row(CLASSICAL, n, lambda s: accuracy(n, s, augmented=True)))
        curves += [row(with_generated(name, m), n, lambda s, name=name, m=m: accuracy(n, s, name, m * n), m * n, name)
                   for name in sources for m in multiples if m]
    return {"cas": rows, "curves": curves}


def prepare_pool(model_id, need, log=print):
    """Draw (or find) model_id's pool for `need` images per class, capped at POOL_CAPPED when the full pool would
    take more than POOL_MINUTES here; returns its record (weights, pool size, cap, speed, settings)."""
    reg = registry.default()
    size, capped = need, False
    known, missing = cas_pool.speed(model_id), cas_pool.missing_images(model_id, need)
    if known and known["images"] and missing * known["seconds"] / known["images"] > 60 * POOL_MINUTES \
            and need > POOL_CAPPED:  # timed before: decide without drawing a chunk to time
        log(f"{model_id}: {need} per class would take about "
            f"{missing * known['seconds'] / known['images'] / 60:.0f} min: capped at {POOL_CAPPED}")
        size, capped = POOL_CAPPED, True
    steps = cas_pool.generated_steps(model_id, size)
    for done, total, seconds in steps:
        if done == 1 and total > 1 and seconds * total > 60 * POOL_MINUTES and size > POOL_CAPPED:
            steps.close()
            log(f"{model_id}: {need} per class would take about {seconds * total / 60:.0f} min: capped at "
                f"{POOL_CAPPED}")
            size, capped = POOL_CAPPED, True
            cas_pool.generated(model_id, size)
            break
        if done and (done % 10 == 0 or done == total):
            log(f"{model_id}: {done} of {total} chunks drawn in {seconds:.0f} s")
    model = reg.get_model(model_id)
    card = reg.card(model_id)
    family = registry.family_module(card.family)
    sampler = getattr(model, "sampler", None)
    speed = cas_pool.speed(model_id)
    return {"weights_sha256": reg.weights_sha256(model_id), "pool_per_class": size, "capped": capped,
            "sampler": f"{sampler[0]} {sampler[1]} steps, guidance {family.GUIDANCE:g}" if sampler and
            hasattr(family, "GUIDANCE") else f"{generator(card.family).knob.name.lower()} at its training value",
            "seconds_per_image": round(speed["seconds"] / speed["images"], 5) if speed else None,
            "pool_minutes_here": round(speed["seconds"] / 60, 1) if speed else None}


def run_measure(quick=False, log=print):
    """The bench's measurement on this machine's generators and real images: the asset's content."""
    start = time.perf_counter()
    data = cas.real()
    if not data.full:
        raise DataMissing(f"The CAS bench trains on Fashion-MNIST's training split: {data.train_name}.")
    settings = QUICK if quick else {"sizes": SIZES, "seeds": SEEDS, "cas_per_class": CAS_PER_CLASS}
    sizes, seeds, per_class = settings["sizes"], settings["seeds"], settings["cas_per_class"]
    steps = settings.get("steps", cas.STEPS)  # the recipe's; tests lower it
    need = max([per_class] + [m * n for n in sizes for m in MULTIPLES])
    ids = cas_pool.conditional_ids()
    generators = {i: prepare_pool(i, need if quick else max(need, POOL_FULL), log) for i in ids}
    sources = {i: (lambda k, i=i: cas_pool.generated(i, k), generators[i]["pool_per_class"]) for i in ids}
    result = measure(sources, sizes, MULTIPLES, seeds, per_class, data, steps, log)
    return {"command": COMMAND.replace("--cas", "--cas --quick") if quick else COMMAND, "quick": quick,
            "seeds": list(seeds), "sizes": list(sizes), "multiples": list(MULTIPLES), "cas_per_class": per_class,
            "steps": steps, "batch": cas.BATCH, "recipe": cas.RECIPE, "augmentation": cas.AUGMENTATION,
            "train_set": data.train_name, "test_set": data.test_name, "test_images": len(data.test[0]),
            "generators": generators, "pool_minutes": POOL_MINUTES, **result,
            "minutes": round((time.perf_counter() - start) / 60, 1)}


def _cell(row):
    return "not measured" if "skipped" in row else f"{100 * row['mean']:.1f} ± {100 * row['std']:.1f}"


def markdown(result):
    """The README's section (and what the command prints)."""
    gens = result["generators"]
    real = result["cas"][0]
    lines = [f"Written by `{result['command']}` in {result['minutes']:.0f} min: {result['recipe']}; "
             f"seeds {', '.join(map(str, result['seeds']))} (mean ± standard deviation over seeds, in % accuracy on "
             f"{result['test_set']}). Trained on {result['train_set']}.", "",
             f"**Classification Accuracy Score**: trained on {result['cas_per_class']} generated images per class only.",
             "", "| trained on | accuracy (%) | share of real | pool per class | weights (SHA-256) | drawn with |",
             "|---|---|---|---|---|---|",
             f"| {result['cas_per_class']} real images per class | {_cell(real)} | 100% | | | |"]
    for row in result["cas"][1:]:
        g = gens[row["method"]]
        share = "" if "skipped" in row else f"{row['mean'] / real['mean']:.0%}"
        lines.append(f"| {row['method']} | {_cell(row)} | {share} | {g['pool_per_class']:,}"
                     f"{' (capped)' if g['capped'] else ''} | `{g['weights_sha256'][:12]}` | {g['sampler']} |")
    sizes = result["sizes"]
    lines += ["", f"**Augmentation curves**: n real images per class, alone, with classical augmentation "
              f"({result['augmentation']}), and with k = 1x or 5x as many generated images per class added.", "",
              "| method | " + " | ".join(f"n = {n}" for n in sizes) + " |", "|---|" + "---|" * len(sizes)]
    methods = list(dict.fromkeys(r["method"] for r in result["curves"]))
    for method in methods:
        cells = {r["n"]: _cell(r) for r in result["curves"] if r["method"] == method}
        lines.append(f"| {method} | " + " | ".join(cells.get(n, "") for n in sizes) + " |")
    capped = [i for i, g in gens.items() if g["capped"]]
    if capped:
        lines += ["", f"Capped pools: {', '.join(capped)} would have taken more than {result['pool_minutes']} min "
                  f"to draw {POOL_FULL:,} images per class on this machine, so they stop at "
                  f"{gens[capped[0]]['pool_per_class']:,} per class; the cells that need more say *not measured*."]
    drawn = [f"{i} {g['pool_minutes_here']:g} min ({g['seconds_per_image']:.2g} s per image)" for i, g in gens.items()
             if g.get("pool_minutes_here") is not None]
    if drawn:
        lines += ["", "Drawing the pools (once, before this run; kept under `runs/cas/`, so a rerun draws nothing) took, "
                  "wall clock on this shared machine: " + ", ".join(drawn) + "."]
    lines += [""] + [f"- {sentence}" for sentence in verdict(result)]
    return "\n".join(lines)


def run(quick=False, readme=None, out=ASSET, log=print):
    """Measure, write the JSON (the Compare tab reads it), print the markdown and write it into the README."""
    result = run_measure(quick, log)
    return publish(result, out, markdown(result), readme, START, END)
