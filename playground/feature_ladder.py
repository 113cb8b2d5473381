"""The FD ladder on every metric, for any feature network: does a network order known degradations?

    python -m playground.feature_ladder orl-faces features-orl features-orl-ssl --generators
    python -m playground.feature_ladder fashion-mnist features-fashion features-fashion-ssl --n 1000 --generators
    python -m playground.feature_ladder --doc     # docs/feature-ladders.md: both networks, both data sets

playground.ladder measures FD only, on the data set's one feature network (datasets.DataSet.features_id). This
module measures, on the same protocol (ladder.real_sets, the same seeded picks of N training and N held-out
images, ladder.rungs for the blurred and noisy copies), every metric the app shows: FD, KID with its standard
error (metrics.kernel_inception_distance), precision / recall and density / coverage at k = scoring.K, all
against the features of the N training images, on any feature network named by its card id. It says whether
the ladder is monotone on each metric (held-out better than blurred sigma=1 better than blurred sigma=2, and
held-out better than noisy 0.1 better than noisy 0.2, strictly), and with --generators it places the bundled
generators' samples (GENERATORS, drawn once with compare.draw and cached under runs/feature-ladder/) on it.

It lives here, not in ladder.py or scoring.py, so that those stay as they are until the second feature
network is wired into the app; its numbers are the second networks' cards' and docs/decisions.md's.
"""
import argparse
import hashlib
import json
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from . import datasets, ladder, registry
from .cards import REPO_ROOT
from .families import features, scoring
from .metrics import (density_coverage, frechet_distance, kernel_inception_distance, pairwise_distances,
                      precision_recall)

GENERATORS = {"orl-faces": ("gan-faces", "vae-faces", "ddpm-faces"),
              "fashion-mnist": ("gan-fashion", "vae-fashion", "ddpm-fashion", "pixelcnn-fashion")}
GENERATOR_N = {"orl-faces": 200, "fashion-mnist": 1000}
METRICS = ("FD", "KID", "precision", "recall", "density", "coverage")
LOWER_IS_BETTER = {"FD", "KID"}
CHAINS = (("real held-out vs train", "blurred sigma=1", "blurred sigma=2"),
          ("real held-out vs train", "noisy sigma=0.1", "noisy sigma=0.2"))
SHORT = {"real held-out vs train": "real held-out", "blurred sigma=1": "blur 1", "blurred sigma=2": "blur 2",
         "noisy sigma=0.1": "noise 0.1", "noisy sigma=0.2": "noise 0.2"}
CACHE = REPO_ROOT / "runs" / "feature-ladder"


def scores(feats, ref):
    """Every metric of one set of features against the reference (training) features."""
    pr, dc = precision_recall(ref, feats, scoring.K), density_coverage(ref, feats, scoring.K)
    kid = kernel_inception_distance(feats, ref)
    return {"FD": frechet_distance(feats, ref), "KID": kid["kid"], "KID_se": kid["kid_se"], **pr, **dc}


class Ladder:
    """The ladder's real images for a data set at N per side (ladder.fd_ladder's picks) and their rungs."""

    def __init__(self, dataset, n=None, seed=0):
        self.dataset, self.seed = datasets.get(dataset).key, seed
        self.sets = ladder.real_sets(self.dataset, seed)
        self.n = n or self.sets.n
        self.train = self.sets.train[ladder._pick(len(self.sets.train), self.n, seed)]  # the ladder's own picks
        self.rungs = ladder.rungs(self.sets.heldout[ladder._pick(len(self.sets.heldout), self.n, seed + 1)], seed)

    @staticmethod
    def n_of(dataset):
        """The ladder's N for a data set (without loading it): ladder_n, else the halves' size."""
        record = datasets.get(dataset)
        return record.ladder_n or ladder.ORL_N

    def measure(self, net, generated=None):
        """OrderedDict row name -> scores on the network `net` (a loaded feature model): the rungs, then the
        generators' samples in `generated` ({id: uint8 images}, their first N after the ladder's seeded pick)."""
        feat = lambda images: np.asarray(features.features(net, images), np.float64)  # noqa: E731
        ref = feat(self.train)
        out = OrderedDict((name, scores(feat(images), ref)) for name, images in self.rungs.items())
        for model_id, images in (generated or {}).items():
            n = min(self.n, len(images))
            out[model_id] = scores(feat(images[ladder._pick(len(images), n, self.seed + 2)]), ref)
        return out


def monotone(rows, metric):
    """Whether the rungs are strictly ordered on a metric (see CHAINS), and the first pair that is not."""
    sign = 1 if metric in LOWER_IS_BETTER else -1
    for chain in CHAINS:
        for better, worse in zip(chain, chain[1:]):
            if not sign * rows[better][metric] < sign * rows[worse][metric]:
                return False, f"{SHORT[better]} {rows[better][metric]:.4g} vs {SHORT[worse]} {rows[worse][metric]:.4g}"
    return True, ""


def all_monotone(rows):
    return all(monotone(rows, m)[0] for m in METRICS)


def _fmt(v):
    return f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"


def markdown(rows, title=""):
    """A markdown table of rows (rungs and models) on every metric, and a line on monotonicity."""
    lines = [f"| {title or 'images'} | FD | KID (se) | precision | recall | density | coverage |",
             "|---|---|---|---|---|---|---|"]
    for name, s in rows.items():
        lines.append(f"| {SHORT.get(name, name)} | {_fmt(s['FD'])} | {s['KID']:.4f} ({s['KID_se']:.4f}) | "
                     f"{s['precision']:.3f} | {s['recall']:.3f} | {s['density']:.3f} | {s['coverage']:.3f} |")
    checks = [(m, *monotone(rows, m)) for m in METRICS]
    bad = [f"{m} ({why})" for m, ok, why in checks if not ok]
    lines += ["", "Monotone on every metric." if not bad else "Not monotone on: " + "; ".join(bad) + "."]
    return "\n".join(lines)


def _fingerprint(reg, model_id):
    """12 hex digits that change with the model's weights or any of its JSON settings (sampler, config)."""
    digest = hashlib.sha256(reg.weights_sha256(model_id).encode())
    for path in sorted(reg.folder(model_id).rglob("*.json")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def samples(model_id, n, seed=0, cache=CACHE, log=print):
    """n images drawn from a generator with compare.draw (its default sampler / setting), cached as .npy
    under a name holding the weights' and settings' fingerprint (new weights are drawn from again)."""
    reg = registry.default()
    path = Path(cache) / f"{model_id}-n{n}-seed{seed}-{_fingerprint(reg, model_id)}.npy"
    if path.is_file():
        return np.load(path)
    from .compare import draw  # only needed when drawing
    start = time.perf_counter()
    with reg.using(model_id) as model:
        images = np.asarray(draw(model, reg.card(model_id).family, n, seed), np.uint8)
    log(f"drew {n} images from {model_id} in {time.perf_counter() - start:.0f}s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, images)
    return images


def run(dataset, net_ids, n=None, seed=0, with_generators=False, log=print):
    """{net id: rows} for every network, on one Ladder (the same images for every network)."""
    data = Ladder(dataset, n, seed)
    generated = {}
    if with_generators:
        gn = min(GENERATOR_N[data.dataset], data.n)
        generated = {g: samples(g, GENERATOR_N[data.dataset], seed, log=log)[:gn] for g in GENERATORS[data.dataset]}
    reg = registry.default()
    out = {}
    for net_id in net_ids:
        with reg.using(net_id) as net:
            out[net_id] = data.measure(net, generated)
    return data, out


# the second networks' cards ------------------------------------------------------------------------
KEYS = {"FD": "fd", "KID": "kid", "KID_se": "kid_se", "precision": "precision", "recall": "recall",
        "density": "density", "coverage": "coverage"}
QUERIES = 8  # rows of the nearest-neighbour picture


def _row_key(name):
    return scoring.RUNGS.get(name, name)


def flatten(rows, suffix=""):
    """Rows -> card metrics: "fd_floor", "precision_blur1", "kid_gan-faces", ... (+ suffix, e.g. "_n1000")."""
    return {f"{KEYS[m]}_{_row_key(name)}{suffix}": float(v) for name, s in rows.items() for m, v in s.items()}


def unflatten(metrics, dataset, suffix=""):
    """The rows flatten() wrote (the rungs, then the generators), from a card's metrics."""
    rows = OrderedDict()
    for name in (*scoring.RUNGS, *GENERATORS.get(dataset, ())):
        keys = {m: f"{k}_{_row_key(name)}{suffix}" for m, k in KEYS.items()}
        if all(k in metrics for k in keys.values()):
            rows[name] = {m: metrics[k] for m, k in keys.items()}
    return rows


def pixels(images):
    """Images as vectors of pixels scaled to 0..1: the reference space knn_accuracy compares with."""
    images = np.asarray(images)
    return images.reshape(len(images), -1).astype(np.float64) / 255


def knn_accuracy(net, dataset, limit=10_000, seed=0):
    """The share of the held-out split's images whose nearest training image (in the features; net None: in
    pixels) has their label: Fashion-MNIST's 10,000 test images against `limit` training images, ORL's 80
    test faces against the 320 training faces (the same person: how much of identity the features carry)."""
    record = datasets.get(dataset)
    train, train_labels = record.load("train")
    test, test_labels = record.load("test")
    if len(train) > limit:
        pick = ladder._pick(len(train), limit, seed)
        train, train_labels = train[pick], np.asarray(train_labels)[pick]
    feat = pixels if net is None else (lambda x: np.asarray(features.features(net, x), np.float64))  # noqa: E731
    a, b = feat(test), feat(train)
    nearest = np.concatenate([pairwise_distances(a[i:i + 500], b).argmin(1) for i in range(0, len(a), 500)])
    return float((np.asarray(train_labels)[nearest] == np.asarray(test_labels)).mean())


def card_metrics(net, dataset, quick=False, seed=0, log=print):
    """A second network's card metrics: its ladder at the ladder's N on every metric (flatten()), "monotone"
    (1.0 when every metric is), "knn_test_accuracy" and "knn_test_accuracy_pixels" (the same in pixels),
    and the bundled generators' samples (GENERATOR_N of each) on a ladder at that N (keys with the suffix
    _n<N> where it is not the ladder's N, with that ladder's rungs and "monotone_n<N>"). quick: N / 5, no
    generators, no probe (a smoke run; not for cards)."""
    dataset = datasets.get(dataset).key
    full = Ladder(dataset, None, seed)
    gn = GENERATOR_N[dataset]
    if quick:
        rows = Ladder(dataset, full.n // 5, seed).measure(net)
        return {**flatten(rows), "monotone": float(all_monotone(rows))}
    generated = {g: samples(g, gn, seed, log=log) for g in GENERATORS[dataset]}
    rows = full.measure(net, generated if gn == full.n else None)
    metrics = {**flatten(rows), "monotone": float(all_monotone(rows))}
    if gn != full.n:
        rows = Ladder(dataset, gn, seed).measure(net, generated)
        metrics.update({**flatten(rows, f"_n{gn}"), f"monotone_n{gn}": float(all_monotone(rows))})
    metrics["knn_test_accuracy"] = knn_accuracy(net, dataset)
    metrics["knn_test_accuracy_pixels"] = knn_accuracy(None, dataset)
    return metrics


def neighbours_picture(net, dataset, seed=0, queries=QUERIES, shown=5):
    """uint8 grid: each row a held-out image of the ladder (`queries` spread evenly over them) and its `shown`
    nearest training images of the ladder in the network's features."""
    from .images import make_grid, zoom
    data = Ladder(dataset, None, seed)
    held = data.rungs[ladder.FLOOR]
    q = held[np.linspace(0, len(held) - 1, queries).astype(int)]
    a, b = (np.asarray(features.features(net, x), np.float64) for x in (q, data.train))
    order = pairwise_distances(a, b).argsort(1)[:, :shown]
    tiles = np.concatenate([np.concatenate([q[i:i + 1], data.train[order[i]]]) for i in range(queries)])
    return make_grid(list(zoom(tiles, 56)), nrow=shown + 1)  # 28x28 garments twice as large


def report(net, card, metrics, folder):
    """The card's measured section: the nearest-neighbour picture (written to folder) and the ladder tables."""
    from PIL import Image
    dataset = datasets.get(getattr(card, "dataset", None) or net.dataset).key
    Image.fromarray(neighbours_picture(net, dataset)).save(Path(folder) / "neighbours.png")
    full_n = Ladder.n_of(dataset)
    gn = GENERATOR_N[dataset]
    lines = [f"![held-out images (first column) and their nearest training images in these features]"
             f"(../weights/{card.id}/neighbours.png)", "",
             f"The ladder on every metric, N = {full_n} per side, k = {scoring.K} (`playground.feature_ladder`):", "",
             markdown(unflatten(metrics, dataset), "images vs the training images")]
    suffix = "" if gn == full_n else f"_n{gn}"
    rows = unflatten(metrics, dataset, suffix)
    if suffix and rows:
        lines += ["", f"The bundled generators, {gn} images each, on the ladder at N = {gn}:", "",
                  markdown(rows, "images vs the training images")]
    if "knn_test_accuracy" in metrics:
        pixel = metrics.get("knn_test_accuracy_pixels")
        lines += ["", "1-nearest-neighbour label accuracy of the held-out split in these features: "
                  f"{metrics['knn_test_accuracy']:.3f}" + (f" (in raw pixels: {pixel:.3f})." if pixel else ".")]
    lines.append(f"\nWritten by `{card.metrics_command}`.")
    return "\n".join(lines)


# both networks of both data sets, in one document ----------------------------------------------------
PAIRS = {"orl-faces": ("features-orl", "features-orl-ssl"), "fashion-mnist": ("features-fashion", "features-fashion-ssl")}
DOC = REPO_ROOT / "docs" / "feature-ladders.md"


def document(seed=0, log=print):
    """The markdown of docs/feature-ladders.md: every rung and bundled generator on both feature networks of
    each data set (the faces at N = 200; Fashion-MNIST's rungs at N = 5,000 and, with the generators' 1,000
    images each, at N = 1,000)."""
    start = time.perf_counter()
    parts = ["# The FD ladder on both feature networks", "",
             "Written by `python -m playground.feature_ladder --doc`, never by hand: the rungs of `playground.ladder` "
             "(held-out real images, blurred and noisy copies) and the bundled generators' samples (drawn once with "
             "`compare.draw`, each model's default sampler, seed 0) against the same N training images, on every "
             f"metric, k = {scoring.K}. FD and KID are on each network's own scale: compare rows within a table, never "
             "across tables or with published FID. Monotone: held-out better than blurred sigma=1 better than blurred "
             "sigma=2, and held-out better than noisy 0.1 better than noisy 0.2, strictly, on the metric."]
    for dataset, nets in PAIRS.items():
        sizes = [None] if GENERATOR_N[dataset] == Ladder.n_of(dataset) else [None, GENERATOR_N[dataset]]
        for n in sizes:
            with_generators = n is not None or len(sizes) == 1
            data, out = run(dataset, nets, n, seed, with_generators, log=log)
            for net_id, rows in out.items():
                parts += ["", f"## {net_id} on {dataset}, N = {data.n} per side", "", markdown(rows)]
    parts += ["", f"Measured in {time.perf_counter() - start:.0f} s on {torch.get_num_threads()} CPU thread(s)."]
    return "\n".join(parts) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", nargs="?", help="orl-faces or fashion-mnist")
    ap.add_argument("nets", nargs="*", help="feature network ids (cards of the features family)")
    ap.add_argument("--n", type=int, default=None, help="images per side (default: the ladder's N)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generators", action="store_true", help="place the bundled generators' samples too")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    ap.add_argument("--doc", action="store_true", help=f"write {DOC.relative_to(REPO_ROOT)}: both networks of both "
                    "data sets, with the generators")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.doc:
        DOC.write_text(document(args.seed))
        print(f"wrote {DOC}")
        return 0
    if not args.dataset or not args.nets:
        ap.error("name a data set and at least one feature network, or pass --doc")
    data, out = run(args.dataset, args.nets, args.n, args.seed, args.generators)
    for net_id, rows in out.items():
        print(f"\n### {net_id} on {data.dataset}, N = {data.n} per side (k = {scoring.K})\n")
        print(markdown(rows, "images vs the training images"), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"dataset": data.dataset, "n": data.n, "seed": args.seed, "k": scoring.K,
                                         "networks": out}, indent=1) + "\n")
    return 0 if all(all_monotone(rows) for rows in out.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
