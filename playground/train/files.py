"""The plain files beside the training commands: presets and card drafts.

A preset is one JSON file of plain values, `presets/<family>/<name>.json`: what a training command
trains, and why it changed is told in the card's Training section and kept in git. A card draft is
one Markdown file with format fields, `drafts/<name>.md`, used only to write the first draft of a
card that does not exist yet (`playground.cards.update(draft=)`).
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRESETS_DIR = HERE / "presets"
DRAFTS_DIR = HERE / "drafts"


def presets(family):
    """{name: preset} of every presets/<family>/*.json, in name order."""
    paths = sorted((PRESETS_DIR / family).glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no presets in {PRESETS_DIR / family}")
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in paths}


def draft(name):
    """The text of drafts/<name>.md (format fields in braces)."""
    return (DRAFTS_DIR / f"{name}.md").read_text(encoding="utf-8")


def card_draft(preset, params, run_start, run_end):
    """A new card's first draft from the preset's draft (a card that exists keeps its prose)."""
    return draft(preset["draft"]).format(params=params, run_start=run_start, run_end=run_end)
