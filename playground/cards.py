"""Model cards: model_cards/<id>.md, YAML front matter plus prose.

The card is the model's record (source, pinned revision, data, licence, metrics) and the
allowlist: only a model with a card can be loaded, from the source its card names.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CARDS_DIR = REPO_ROOT / "model_cards"
KEYS = ("id", "family", "title", "source", "revision", "dataset", "license", "params",
        "resolution", "train_command", "metrics", "metrics_command")
NULLABLE = {"revision", "train_command"}
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HUB_ID = re.compile(r"hub:([A-Za-z0-9][\w.-]*/[\w.-]+)")
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


class CardError(ValueError):
    """A card that does not follow the format; the message names the file and the key."""


@dataclass(frozen=True)
class ModelCard:
    id: str
    family: str
    title: str
    source: str
    revision: str | None
    dataset: str
    license: str
    params: int
    resolution: str
    train_command: str | None
    metrics: dict = field(default_factory=dict)
    metrics_command: str = ""
    body: str = ""
    path: Path | None = None

    @property
    def is_hub(self):
        return self.source.startswith("hub:")

    @property
    def hub_repo(self):
        return self.source[4:] if self.is_hub else None


def split_front_matter(text, where="card"):
    """(front matter dict, body) of a markdown file starting with '---' lines."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CardError(f"{where}: must start with a '---' line opening the YAML front matter")
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise CardError(f"{where}: the YAML front matter has no closing '---' line")
    try:
        meta = yaml.safe_load("".join(lines[1:end])) or {}
    except yaml.YAMLError as e:
        raise CardError(f"{where}: the front matter is not valid YAML: {e}") from None
    if not isinstance(meta, dict):
        raise CardError(f"{where}: the front matter must be a mapping of keys to values")
    return meta, "".join(lines[end + 1:]).lstrip("\n")


def _check(meta, where):
    for key in meta:
        if key not in KEYS:
            raise CardError(f"{where}: unknown key {key!r} (allowed: {', '.join(KEYS)})")
    for key in KEYS:
        if key not in meta:
            raise CardError(f"{where}: missing key {key!r}")
        if meta[key] is None and key not in NULLABLE:
            raise CardError(f"{where}: key {key!r} must have a value")
    text_keys = ("id", "family", "title", "source", "dataset", "license", "metrics_command")
    for key in text_keys + tuple(k for k in NULLABLE if meta[k] is not None):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise CardError(f"{where}: key {key!r} must be a non-empty string")
    if not _ID.fullmatch(meta["id"]):
        raise CardError(f"{where}: key 'id' must be lower-case letters, digits and dashes")
    if isinstance(meta["params"], bool) or not isinstance(meta["params"], int) or meta["params"] < 0:
        raise CardError(f"{where}: key 'params' must be a whole number")
    if not isinstance(meta["resolution"], (str, int)) or isinstance(meta["resolution"], bool):
        raise CardError(f"{where}: key 'resolution' must be like 64x64")
    metrics = meta["metrics"]
    if not isinstance(metrics, dict):
        raise CardError(f"{where}: key 'metrics' must map metric names to numbers")
    for name, value in metrics.items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CardError(f"{where}: key 'metrics' entry {name!r} must be a number, not {value!r}")
    source, revision = meta["source"], meta["revision"]
    if source.startswith("hub:"):
        if not _HUB_ID.fullmatch(source):
            raise CardError(f"{where}: key 'source' must be hub:<org>/<name>, not {source!r}")
        if revision is None or not _HEX40.fullmatch(revision):
            raise CardError(f"{where}: key 'revision' must be a 40-hex commit for a hub source")
    elif source != f"weights/{meta['id']}":
        raise CardError(f"{where}: key 'source' must be weights/{meta['id']} or hub:<org>/<name>")


def parse_card(path):
    """Parse and check one card; CardError names the file and the key at fault."""
    path = Path(path)
    where = str(path)
    meta, body = split_front_matter(path.read_text(encoding="utf-8"), where)
    if meta.get("id") != path.stem:
        raise CardError(f"{where}: key 'id' is {meta.get('id')!r} but the file is named {path.name}")
    _check(meta, where)
    return ModelCard(**{k: meta[k] for k in KEYS if k not in ("resolution",)},
                     resolution=str(meta["resolution"]), body=body, path=path)


def list_cards(cards_dir=None):
    """Every card in cards_dir (model_cards/ by default), sorted by id."""
    folder = Path(cards_dir) if cards_dir else CARDS_DIR
    return [parse_card(p) for p in sorted(folder.glob("*.md")) if p.name.lower() != "readme.md"]


MEASURED_START, MEASURED_END = "<!-- measured:start -->", "<!-- measured:end -->"  # a card's evaluate --write section


def write_metrics(path, metrics):
    """Replace the metrics in a card's front matter, keeping the other keys and the prose."""
    path = Path(path)
    meta, body = split_front_matter(path.read_text(encoding="utf-8"), str(path))
    meta["metrics"] = {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in metrics.items()}
    _check(meta, str(path))
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")


def write_section(path, start, end, text):
    """Replace the text between two marker lines of a markdown file."""
    path = Path(path)
    readme = path.read_text()
    if start not in readme or end not in readme:
        raise SystemExit(f"{path} has no {start} ... {end} section")
    head, rest = readme.split(start, 1)
    path.write_text(head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1])


def where(folder):
    """A model folder as a message may show it: repository-relative, or "the Hugging Face cache" (never a
    server path: messages reach the page)."""
    try:
        return Path(folder).resolve().relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return "the Hugging Face cache"
