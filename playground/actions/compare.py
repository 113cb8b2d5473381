"""What the Compare tab does: every model of a data set from one seed, a table beside the grids,
and an export; and the "two settings" panel of the generator tabs (playground.compare does the work)."""
import tempfile

from .. import compare, results
from ..families import scoring
from .common import about, stopped_by

DATASETS = list(compare.DATASETS)  # the data sets' names, as the tab offers them
COLUMNS, MIN_N, N_STEP, MODEL_DEFAULT = compare.COLUMNS, compare.MIN_N, compare.N_STEP, compare.MODEL_DEFAULT
TWO_N = compare.TWO_N
TWO_COLUMNS = ["setting", *scoring.columns(), *scoring.columns(scoring.SECOND), "precision", "recall", "density",
               "coverage", "memorisation rate", "seconds per image"]

EXPLAIN = """**How to read the table.** Every row is N images against the same N reference images (real
test images the models never trained on), with the project's own feature network: the numbers compare
with each other, not with published FIDs, and not with the cards (other N). The first five rows are real
images, so you can read the scale: *real held-out* is what a perfect generator would score at this N;
*blurred* (by 1 and 2 pixels) and *noisy* (by 10% and 20% of the grey range) show how far a degraded copy of
real data lands: every column should get worse down those rungs, and a model reads as "between two rungs".
**FD**: Frechet distance between the two sets' features (lower is better; biased upward at small N, so
compare rows of one N only). **KD**: kernel distance (KID on our features, not comparable with published
KID), lower is better, about 0 for two samples of one distribution at any N, with its standard error: two
rows whose KDs differ by less than about two standard errors are not told apart. **Precision**: share of the
model's images inside the real images' neighbourhoods (fidelity); **recall**: share of real images inside
the model's (diversity). **Density** (about 1 for real data) and **coverage** (share of real neighbourhoods
that hold a generated image) say the same more robustly (Naeem et al. 2020). **Memorisation rate**: share
of images closer to a training image than training images are to each other (real new images: about 0.5).
**Bits/dim**: from the card; exact for a PixelCNN, an upper bound for a VAE; GANs and these diffusion models
give none. Seconds per image are this run's wall clock and vary; every other column is the same for the
same inputs."""


def dataset_models(dataset_name):
    """(choices, ticked by default) for the model checkboxes."""
    dataset = compare.dataset_key(dataset_name)
    return compare.candidates(dataset), compare.defaults(dataset)


def table(rows):
    return [[row[c] for c in COLUMNS] for row in rows]


@results.cached("compare.run")
def run(dataset_name, model_ids, n=100, seed=0, sampler=MODEL_DEFAULT, steps=20, should_stop=None):
    """Yield (gallery items, table rows, status, None) as each model finishes, then the same with
    the export zip's path. should_stop (the tab's Stop) is asked after the reference rows and after every
    model: the run ends there with the models done so far (and no export)."""
    total = len(compare.check(dataset_name, model_ids, n, seed, sampler, steps)[1])
    yield [], [], f"Scoring the real images for the reference rows, then {total} models...", None
    rows, grids = [], {}
    parts = compare.run(dataset_name, model_ids, n, seed, sampler, steps)
    for done, (rows, grids, status) in enumerate(parts):
        gallery = [(g, name) for name, g in grids.items()]
        yield gallery, table(rows), status, None
        if done < total and stopped_by(should_stop):
            parts.close()
            where = (f"at model {done} of {total}: the table and grids keep the models done so far"
                     if done else f"after the reference rows, before the first of {total} models")
            yield gallery, table(rows), f"Stopped {where}. Press Compare to run it all (and get the export).", None
            return
    rec = compare.record(dataset_name, model_ids, n, seed, sampler, steps)
    path = compare.write_export(rows, grids, rec, tempfile.mkdtemp(prefix="compare-"))
    yield ([(g, name) for name, g in grids.items()], table(rows),
           f"Done: {len(rows) - len(compare.REFERENCES)} models, {rec['images_per_model']} images each, seed "
           f"{rec['seed']}. The zip holds the grids, this table and what reproduces it. "
           + scoring.Judges(rec["data_set"]).note(rows[len(compare.REFERENCES):])
           + (" " + compare.memorisation_note(rec["data_set"])).rstrip(), str(path))


# two settings of one model ------------------------------------------------------------------------
def knob(family):
    """(name, minimum, maximum, step, first default, second default) of the family's knob (its GENERATOR's)."""
    k = compare.knob(family)
    return k.name, k.minimum, k.maximum, k.step, k.a, k.b


def sampler_choices():
    """Compare's sampler menu: each model's default, then every sampler a generator family offers."""
    return compare.sampler_choices()


@results.cached("compare.two_settings")
def two_settings(model_id, first, second, seed=0, should_stop=None):
    """TWO_N images from one seed at two settings of the model's knob, streamed: yields (first grid, second grid,
    the table's rows in TWO_COLUMNS, status) when it starts, after the first setting (with an estimate of the
    second's time) and at the end (both settings and their difference). should_stop (the panel's Stop) is
    asked after the first setting: a stopped run keeps the first grid and its row."""
    parts = compare.two_settings_steps(model_id, first, second, TWO_N, seed)
    name = next(parts)  # validates the settings before anything is drawn
    yield None, None, [], f"Drawing {TWO_N} images at the first {name}..."
    rows, shown, seconds = next(parts)
    shown_rows = [[row.get(c, "") for c in TWO_COLUMNS] for row in rows]
    if stopped_by(should_stop):
        parts.close()
        yield shown[0], None, shown_rows, f"Stopped at setting 1 of 2 after {seconds:.1f} s: the first setting's grid and row."
        return
    yield shown[0], None, shown_rows, (f"Setting 1 of 2 done in {seconds:.1f} s; drawing the second {name} "
                                       f"({about(seconds)} more if it costs what the first did)...")
    rows, shown, seconds = next(parts)
    judges = scoring.Judges(compare.model_dataset(model_id))
    yield shown[0], shown[1], [[row.get(c, "") for c in TWO_COLUMNS] for row in rows], \
        f"Both settings done in {seconds:.1f} s, {TWO_N} images each. " + judges.note(rows[:2])
