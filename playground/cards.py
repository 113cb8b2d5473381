"""Model cards: model_cards/<id>.md, YAML front matter plus prose.

The card is the model's record (source, pinned revision, data, licence, metrics) and the
allowlist: only a model with a card can be loaded, from the source its card names.
"""
import json
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


# The parts of a card that commands write; everything else in a card is authored and no command rewrites it.
MEASURED_START, MEASURED_END = "<!-- measured:start -->", "<!-- measured:end -->"  # evaluate --write
RUN_START, RUN_END = "<!-- training-run:start -->", "<!-- training-run:end -->"  # the training command
SECTIONS = {"measured": (MEASURED_START, MEASURED_END, "Measured"),
            "training_run": (RUN_START, RUN_END, "Training run")}  # update()'s keyword -> markers, heading


@dataclass(frozen=True)
class Written:
    """What update() did to a card: `drafted` (it did not exist and was written from the draft), the
    sections whose markers were missing and were `appended` at the end, and whether the file `changed`."""
    path: Path
    drafted: bool = False
    appended: tuple = ()
    changed: bool = False

    def notes(self):
        """Sentences for a command to print: what a person may want to look at."""
        out = [f"drafted {self.path.name} from its template: the prose is a first draft, edit it"] if self.drafted else []
        out += [f"{self.path.name} had no {SECTIONS[k][0]} ... {SECTIONS[k][1]} markers: added a '## {SECTIONS[k][2]}' "
                "section at its end (move the section with its markers wherever it reads best)"
                for k in self.appended if not self.drafted]
        return out


def update(path, *, metrics=None, params=None, measured=None, training_run=None, draft=None):
    """The one way a command writes a card. A card that exists is never rewritten as a whole: only
    - the front matter's `metrics` (replaced by `metrics`, floats rounded to 6 digits) and `params`;
    - the text between a section's markers: `measured` between MEASURED_START and MEASURED_END (what
      `python -m playground.evaluate ID --write` measures), `training_run` between RUN_START and RUN_END
      (what a training run measured: steps, minutes, ...). A card without a section's markers gets them,
      under a heading, at its end.
    Everything else (the prose, the other front-matter keys, their layout and comments) is left byte for byte.
    Arguments left None are not touched. When no card exists, `draft` (a template's text) starts one and
    is then updated like any card; without a draft a missing card is an error. Returns a Written."""
    path = Path(path)
    drafted = not path.is_file()
    if drafted and draft is None:
        raise CardError(f"{path}: no such card, and no draft to start one from")
    old = draft if drafted else path.read_text(encoding="utf-8")
    meta, _ = split_front_matter(old, str(path))
    lines = old.splitlines(keepends=True)
    close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    front, body = lines[1:close], "".join(lines[close + 1:])
    expected = dict(meta)
    if metrics is not None:
        expected["metrics"] = {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in metrics.items()}
        front = _set_key(front, "metrics", expected["metrics"], path)
    if params is not None:
        expected["params"] = int(params)
        front = _set_key(front, "params", expected["params"], path)
    appended = []
    for key, text in (("measured", measured), ("training_run", training_run)):
        if text is not None:
            body, added = _set_section(body, key, text, path)
            appended += [key] if added else []
    new = "".join(lines[:1] + front + lines[close:close + 1]) + body
    if split_front_matter(new, str(path))[0] != expected:  # a layout _set_key does not understand: write nothing
        raise CardError(f"{path}: could not replace only metrics/params in the front matter; nothing written")
    _check(expected, str(path))
    changed = drafted or new != old
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new, encoding="utf-8")
    return Written(path, drafted, tuple(appended), changed)


def _set_key(front, key, value, path):
    """The front matter's lines with the top-level `key` (its line and any indented lines under it)
    replaced by `key: value` as YAML; added at the end when the key is missing."""
    dumped = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=1000).splitlines(keepends=True)
    starts = [i for i, line in enumerate(front) if re.match(rf"{re.escape(key)}\s*:", line)]
    if len(starts) > 1:
        raise CardError(f"{path}: key {key!r} appears {len(starts)} times in the front matter")
    if not starts:
        return front + dumped
    end = starts[0] + 1
    while end < len(front) and front[end][:1] in (" ", "\t", "-") and front[end].strip():
        end += 1
    return front[:starts[0]] + dumped + front[end:]


def _set_section(body, key, text, path):
    """(body with `text` between the section's markers, whether the markers had to be added at the end)."""
    start, end, heading = SECTIONS[key]
    text = text.strip("\n")
    if start in body or end in body:
        head, sep, rest = body.partition(start)
        if not sep or end not in rest or body.count(start) > 1 or body.count(end) > 1:
            raise CardError(f"{path}: the {start} ... {end} markers must appear once each, in that order")
        return head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1], False
    return body.rstrip("\n") + f"\n\n## {heading}\n\n{start}\n{text}\n{end}\n", True


def write_metrics(path, metrics):
    """Replace the metrics in a card's front matter, keeping everything else (update(path, metrics=...))."""
    return update(path, metrics=metrics)


def publish(result, out, text, readme=None, start=None, end=None):
    """A bench's last step: its result as JSON in `out`, its markdown printed and, with a README, written
    between the markers. Returns the result."""
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(text)
    if readme:
        write_section(readme, start, end, text)
    return result


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
