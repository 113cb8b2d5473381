"""How generated images are scored, once: evaluate (the cards), Compare and bench all call these.

    table_scores(feats, ref_feats)                       FD, KD, precision/recall, density/coverage (Compare's row)
    card_scores(fake, labels, dataset, seed, quick)      a generator card's metrics on playground.ladder's protocol

Everything is measured on the data set's own feature network (datasets.DataSet.features_id), never
Inception: FD here is FD-Fashion or FD-ORL, not FID, and says so in its name. A metric added here
appears in every card, table and bench row that uses these functions.
"""
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


class CardScorer:
    """A generator card's metrics on the ladder's protocol for one data set (read playground.ladder):
    FD on the data set's features against N training images with the ladder's rungs at the same N,
    precision/recall (k=3), memorisation, and label accuracy for a conditional model."""

    def __init__(self, dataset, seed=0, size=64, quick=False):
        self.data = datasets.get(dataset)
        self.seed = seed
        self.sets = ladder.real_sets(dataset, seed, size)
        self.n = self.sets.n // 5 if quick else self.sets.n
        self.net = registry.get_model(self.data.features_id)
        self.ref = self.reference(self.n)

    def features(self, images):
        return features.features(self.net, images)

    def reference(self, n):
        return ladder.reference_features(self.features, self.sets.train, n, self.seed)

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

    def fidelity(self, fake, reference=None):
        return precision_recall(self.ref if reference is None else reference, self.features(fake), k=K)

    def memorisation(self, fake):
        memo = ladder.memorisation_rate(fake[:MEMO_QUERIES], self.sets.seen, seed=self.seed)
        return {"memorisation_rate": memo.rate, "nn_ratio_median": memo.median_ratio}

    def label_accuracy(self, fake, labels):
        return {"label_accuracy": float((features.classify(self.net, fake).argmax(1) == labels).mean())}

    def all(self, fake, labels=None):
        """Every card metric of N generated images (uint8 (N,S,S); labels for a conditional model)."""
        metrics = {self.data.fd_metric: self.fd(fake), **self.ladder(), **self.fidelity(fake),
                   **self.memorisation(fake)}
        if labels is not None:
            metrics.update(self.label_accuracy(fake, labels))
        return metrics
