"""Recompute a model card's metrics from its weights.

    python -m playground.evaluate MODEL_ID [--write] [--quick]
    python -m playground.evaluate --all --write
    python -m playground.evaluate --readme README.md   # the README's models table, from the cards

Each family's evaluate(model, card, quick) does the measuring; --write puts the numbers into the
card's front matter, so no metric in a card is ever typed by hand.
"""
import argparse
import json
import sys
import time

import torch

from . import registry
from .cards import MEASURED_END as REPORT_END
from .cards import MEASURED_START as REPORT_START
from .cards import list_cards, write_metrics, write_section

START, END = "<!-- models:start -->", "<!-- models:end -->"


def evaluate(model_id, quick=False, reg=None):
    reg = reg or registry.default()
    card = reg.card(model_id)
    family = registry.family_module(card.family)
    if not hasattr(family, "evaluate"):
        raise SystemExit(f"family {card.family!r} has no evaluate(); nothing to measure for {model_id}")
    start = time.perf_counter()
    with reg.using(model_id) as model:
        metrics = family.evaluate(model, card, quick=quick)
    return metrics, time.perf_counter() - start


def write_report(model_id, metrics, reg=None):
    """The card's measured section: family.report(model, card, metrics, folder) writes its figures
    into the weights folder and returns markdown, put between the card's measured markers (added at
    the end of the card the first time)."""
    reg = reg or registry.default()
    card = reg.card(model_id)
    family = registry.family_module(card.family)
    if not hasattr(family, "report"):
        return
    with reg.using(model_id) as model:
        text = family.report(model, card, metrics, reg.folder(model_id))
    if REPORT_START not in card.path.read_text():
        with open(card.path, "a", encoding="utf-8") as f:
            f.write(f"\n## Measured\n\n{REPORT_START}\n{REPORT_END}\n")
    write_section(card.path, REPORT_START, REPORT_END, text)


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
            write_report(model_id, dict(reg.card(model_id).metrics), reg)
            print(f"redrew the measured section of {model_id}", flush=True)
        return 0
    for model_id in ids:
        metrics, seconds = evaluate(model_id, args.quick, reg)
        print(json.dumps({"id": model_id, "metrics": metrics, "seconds": round(seconds, 1)}), flush=True)
        if args.write:
            write_metrics(reg.card(model_id).path, metrics)
            write_report(model_id, metrics, reg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
