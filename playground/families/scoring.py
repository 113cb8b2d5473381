"""How generated images are scored, once: evaluate (the cards), Compare and bench all call these.

    table_scores(feats, ref_feats)                       FD, KD, precision/recall, density/coverage (Compare's row)
    card_scores(fake, labels, dataset, seed, quick)      a generator card's metrics on playground.ladder's protocol

Everything is measured on the data set's own feature network (datasets.DataSet.features_id), never
Inception: FD here is FD-Fashion or FD-ORL, not FID, and says so in its name. A metric added here
appears in every card, table and bench row that uses these functions.
"""
import contextlib

from .. import datasets, ladder, registry
from ..metrics import density_coverage, frechet_distance, kernel_inception_distance, precision_recall
from . import features

K = 3  # neighbours for precision/recall and density/coverage (Naeem et al. use 5; the ORL faces have 5 per
       # person, so a 5th neighbour is another person and every ball swallows the rest)
RUNGS = {"real held-out vs train": "floor", "blurred sigma=1": "blur1", "blurred sigma=2": "blur2",
         "noisy sigma=0.1": "noise0.1", "noisy sigma=0.2": "noise0.2"}
MEMO_QUERIES = 2_000  # generated images whose nearest training image is looked for


def table_scores(feats, ref_feats):
    """One row of Compare's table: FD, KD (KID on the same features) with its standard error, precision, recall,
    density and coverage against the reference."""
    pr, dc = precision_recall(ref_feats, feats, K), density_coverage(ref_feats, feats, K)
    kd = kernel_inception_distance(feats, ref_feats)
    return {"FD": round(frechet_distance(feats, ref_feats), 4), "KD": round(kd["kid"], 5),
            "KD s.e.": round(kd["kid_se"], 5), **{k: round(v, 4) for k, v in {**pr, **dc}.items()}}


SECOND = " (2nd net)"  # the second feature network's columns: "FD (2nd net)", "KD (2nd net)", "KD s.e. (2nd net)"


def columns(suffix=""):
    return f"FD{suffix}", f"KD{suffix}", f"KD s.e.{suffix}"


class Judges:
    """The feature networks a data set's images are scored on, loaded for a `with` block: its first
    (DataSet.features_id) and its second (second_features_id), if any. scores() gives FD and KD on each and
    precision, recall, density and coverage on DataSet.neighbour_features_id (default: the first)."""

    def __init__(self, dataset):
        self.data = datasets.get(dataset)
        self.ids = self.data.features_ids
        self.neighbours = self.ids.index(self.data.neighbours_id)

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        self.nets = [self._stack.enter_context(registry.using(i)) for i in self.ids]
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def features(self, images):
        """[features on each network] of uint8 images."""
        return [features.features(net, images) for net in self.nets]

    def scores(self, feats, refs):
        """One table row's metrics of images (their features() against the reference's)."""
        row = {}
        for i, (f, r) in enumerate(zip(feats, refs)):
            kd = kernel_inception_distance(f, r)
            fd_key, kd_key, se_key = columns("" if i == 0 else SECOND)
            row.update({fd_key: round(frechet_distance(f, r), 4), kd_key: round(kd["kid"], 5),
                        se_key: round(kd["kid_se"], 5)})
        near = table_scores(feats[self.neighbours], refs[self.neighbours])
        return {**row, **{k: near[k] for k in ("precision", "recall", "density", "coverage")}}

    def note(self, rows):
        """A sentence on the networks, and on any pair of these rows (the models') that the two order
        differently (KD: only beyond twice the combined standard error), for under a table."""
        names = " and ".join(f"**{i}**" for i in self.ids)
        text = f"FD and KD on {names}; precision, recall, density and coverage on {self.ids[self.neighbours]}."
        if len(self.ids) < 2:
            return text
        fd, kd = columns(), columns(SECOND)
        pairs = list(dict.fromkeys(disagreements(rows, fd[0], kd[0]) + disagreements(
            rows, fd[1], kd[1], spread={fd[1]: fd[2], kd[1]: kd[2]})))
        if not pairs:
            return text + " The two networks agree on the order of every pair of rows."
        listed = "; ".join(f"{a} and {b}" for a, b in pairs[:6]) + (" ..." if len(pairs) > 6 else "")
        return text + (f" **The two networks disagree on the order of {len(pairs)} pair(s)** ({listed}): read "
                       "those as undecided.")


def metric_name(features_id, kind="fd"):
    """A card metric's name on a feature network: fd_fashion on features-fashion, kd_orl_xyz on features-orl-xyz."""
    return f"{kind}_{features_id.removeprefix('features-').replace('-', '_')}"


def distances_markdown(metrics, record):
    """The card's line on KD and on the second network (what CardScorer.distances wrote), or ""."""
    parts = []
    for features_id in record.features_ids:
        kd = metric_name(features_id, "kd")
        if kd not in metrics:
            continue
        fd = metrics.get(metric_name(features_id)) if features_id != record.features_id else None
        parts.append(f"on {features_id}: " + (f"FD {fd:.3f}, " if fd is not None else "") +
                     f"KD {metrics[kd]:.4f} ± {metrics.get(kd + '_se', float('nan')):.4f}")
    return ("Kernel distance (KID on our features, unbiased at any N; ± its standard error) and the second "
            "feature network's FD, same images: " + "; ".join(parts) + ".") if parts else ""


class CardScorer:
    """A generator card's metrics on the ladder's protocol for one data set (read playground.ladder):
    FD on the data set's first feature network against N training images with the ladder's rungs at the
    same N, KD (with its standard error) and, for a second network, its FD and KD too; precision/recall (k=3)
    on the data set's nearest-neighbour network, memorisation, and label accuracy for a conditional model."""

    def __init__(self, dataset, seed=0, size=64, quick=False):
        self.data = datasets.get(dataset)
        self.seed = seed
        self.sets = ladder.real_sets(dataset, seed, size)
        self.n = self.sets.n // 5 if quick else self.sets.n
        self.nets = {i: registry.get_model(i) for i in self.data.features_ids}
        self.net = self.nets[self.data.features_id]
        self.ref = self.reference(self.n)
        self.refs = {i: self.ref if i == self.data.features_id else self.reference(self.n, i) for i in self.nets}

    def features(self, images, features_id=None):
        return features.features(self.nets[features_id or self.data.features_id], images)

    def reference(self, n, features_id=None):
        return ladder.reference_features(lambda x: self.features(x, features_id), self.sets.train, n, self.seed)

    def fd(self, fake, n=None, reference=None):
        n = n or self.n
        return float(ladder.model_fd(self.features, fake, self.sets.train, n, self.seed,
                                     reference=self.ref if reference is None else reference))

    def ladder(self, n=None, reference=None):
        """{"<fd>_floor": ..., "<fd>_blur1": ...}: real held-out, blurred and noisy images at N."""
        n = n or self.n
        rungs = ladder.fd_ladder(self.features, self.sets.train, self.sets.heldout, n, self.seed,
                                 reference=self.ref if reference is None else reference)
        return {f"{self.data.fd_metric}_{RUNGS[name]}": float(value) for name, value in rungs.items()}

    def distances(self, fake):
        """KD (and its standard error) on every network, and FD on the others, of the first N images."""
        out = {}
        for features_id, ref in self.refs.items():
            feats = self.features(fake[:self.n], features_id)
            kd = kernel_inception_distance(feats, ref)
            kd_name = metric_name(features_id, "kd")
            out.update({kd_name: kd["kid"], f"{kd_name}_se": kd["kid_se"]})
            if features_id != self.data.features_id:
                out[metric_name(features_id)] = float(frechet_distance(feats, ref))
        return out

    def fidelity(self, fake, reference=None):
        """Precision and recall on the nearest-neighbour network (against `reference`, features on it)."""
        near = self.data.neighbours_id
        return precision_recall(self.refs[near] if reference is None else reference, self.features(fake, near), k=K)

    def memorisation(self, fake):
        memo = ladder.memorisation_rate(fake[:MEMO_QUERIES], self.sets.seen, seed=self.seed)
        return {"memorisation_rate": memo.rate, "nn_ratio_median": memo.median_ratio}

    def label_accuracy(self, fake, labels):
        return {"label_accuracy": float((features.classify(self.net, fake).argmax(1) == labels).mean())}

    def all(self, fake, labels=None):
        """Every card metric of N generated images (uint8 (N,S,S); labels for a conditional model)."""
        metrics = {self.data.fd_metric: self.fd(fake), **self.distances(fake), **self.ladder(),
                   **self.fidelity(fake), **self.memorisation(fake)}
        if labels is not None:
            metrics.update(self.label_accuracy(fake, labels))
        return metrics


def disagreements(rows, first, second, spread=None):
    """Pairs of rows (by "model" or "setting") that two metrics put in opposite orders: [(a, b), ...] where
    `first` ranks a before b (lower) and `second` b before a. With `spread` ({metric: its standard-error
    column}), a pair counts only when both differences exceed twice their combined standard error, so noise
    is not called a disagreement. Rows lacking either number are left out."""
    def name(row):
        return row.get("model", row.get("setting"))

    def number(row, key):
        value = row.get(key)
        return value if isinstance(value, (int, float)) and value == value else None

    def apart(a, b, key):
        if not spread or key not in spread:
            return True
        sa, sb = number(a, spread[key]), number(b, spread[key])
        return sa is not None and sb is not None and abs(a[key] - b[key]) > 2 * (sa * sa + sb * sb) ** 0.5

    scored = [r for r in rows if number(r, first) is not None and number(r, second) is not None]
    return [(name(a), name(b)) if a[first] < b[first] else (name(b), name(a))
            for i, a in enumerate(scored) for b in scored[i + 1:]
            if (a[first] - b[first]) * (a[second] - b[second]) < 0 and apart(a, b, first) and apart(a, b, second)]
