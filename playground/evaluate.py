"""Recompute a model card's metrics from its weights.

    python -m playground.evaluate MODEL_ID [--write] [--quick]
    python -m playground.evaluate --all --write
    python -m playground.evaluate --readme README.md   # the README's models table, from the cards

Each family's evaluate(model, card, quick) does the measuring; --write puts the numbers into the
card's front matter and its report between the card's measured markers (`cards.update`), so no metric
in a card is ever typed by hand and the card's prose, which people write, is never touched.
"""
import argparse
import json
import sys
import time

import torch

from . import feature_ladder, registry
from .families import features
from .cards import list_cards, update, write_section

START, END = "<!-- models:start -->", "<!-- models:end -->"


def evaluate(model_id, quick=False, reg=None):
    reg = reg or registry.default()
    card = reg.card(model_id)
    family = registry.family_module(card.family)
    if not hasattr(family, "evaluate"):
        raise SystemExit(f"family {card.family!r} has no evaluate(); nothing to measure for {model_id}")
    start = time.perf_counter()
    with reg.using(model_id) as model:
        if _ladder_network(card, model):  # a feature network without classes: its ladder on every metric
            metrics = feature_ladder.card_metrics(model, card.dataset, quick=quick)
        else:
            metrics = family.evaluate(model, card, quick=quick)
    return metrics, time.perf_counter() - start


def _ladder_network(card, model):
    return registry.family_module(card.family) is features and not features.has_head(model)


def report(model_id, metrics, reg=None):
    """The card's measured section: family.report(model, card, metrics, folder) writes its figures into the
    weights folder and returns markdown; None for a family without report()."""
    reg = reg or registry.default()
    card = reg.card(model_id)
    family = registry.family_module(card.family)
    if not hasattr(family, "report"):
        return None
    with reg.using(model_id) as model:
        if _ladder_network(card, model):
            return feature_ladder.report(model, card, metrics, reg.folder(model_id))
        return family.report(model, card, metrics, reg.folder(model_id))


def write_card(model_id, metrics=None, reg=None):
    """Write what evaluate measured into the card with cards.update: `metrics` (None: keep the card's own and
    redraw from them) in the front matter and the report between the measured markers (added at the end of a
    card without them). -> cards.Written"""
    reg = reg or registry.default()
    card = reg.card(model_id)
    text = report(model_id, dict(card.metrics) if metrics is None else metrics, reg)
    return update(card.path, metrics=metrics, measured=text)


def write_report(model_id, metrics, reg=None):
    """Only the card's measured section, from `metrics`."""
    reg = reg or registry.default()
    text = report(model_id, metrics, reg)
    return update(reg.card(model_id).path, measured=text) if text is not None else None


def models_markdown(cards):
    """The README's models table: every card, its data, licence, metrics and how to reproduce it."""
    lines = ["| model | family | data | params | licence | metrics | reproduce |", "|---|---|---|---|---|---|---|"]
    for c in cards:
        metrics = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in c.metrics.items())
        how = (f"`{c.train_command}`" if c.train_command
               else f"{c.source} @ {c.revision[:12]}" if c.revision else c.source)
        lines.append(f"| [{c.id}](model_cards/{c.id}.md) | {c.family} | {c.dataset} | {c.params:,} | {c.license} "
                     f"| {metrics} | {how} |")
    return "\n".join(lines + ["", "Metrics are written into the cards by each card's `metrics_command` "
                               "(`python -m playground.evaluate <id> --write`)."])


def write_readme(path):
    write_section(path, START, END, models_markdown(list_cards()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_ids", nargs="*")
    ap.add_argument("--all", action="store_true", help="every card whose weights are here")
    ap.add_argument("--write", action="store_true", help="write the metrics into the card")
    ap.add_argument("--quick", action="store_true", help="a smaller sample (not for cards)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--readme", default=None, help="rewrite this README's models table from the cards")
    ap.add_argument("--report-only", action="store_true", help="measure nothing: redraw the cards' figures and "
                    "Measured sections from the metrics already in them")
    args = ap.parse_args(argv)
    if args.readme:
        write_readme(args.readme)
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    reg = registry.default()
    ids = args.model_ids or []
    if args.all:
        ids = [i for i in reg.cards() if reg.availability(i) in ("local", "cached")]
    if not ids:
        ap.error("name a model id or pass --all")
    if args.write and args.quick:
        ap.error("--quick numbers are not written into cards")
    if args.report_only:
        for model_id in ids:
            written = write_card(model_id, None, reg)
            print(f"redrew the measured section of {model_id}", *written.notes(), sep="; ", flush=True)
        return 0
    for model_id in ids:
        metrics, seconds = evaluate(model_id, args.quick, reg)
        print(json.dumps({"id": model_id, "metrics": metrics, "seconds": round(seconds, 1)}), flush=True)
        if args.write:
            written = write_card(model_id, metrics, reg)
            print(f"wrote what was measured into {written.path.name}", *written.notes(), sep="; ", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
