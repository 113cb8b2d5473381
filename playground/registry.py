"""The model registry: lazy, single-flight loading under a memory budget.

    from playground import registry
    with registry.using("features-fashion") as model:
        ...

Cards are read when first asked for (cheap); weights load on first use, from
weights/<id>/{config.json, model.safetensors} or from a hub snapshot at the card's pinned
revision. Pickled weights are never read. When loading a model would pass the memory budget,
the least recently used idle models are evicted; a model in use is never evicted.
"""
import contextlib
import fnmatch
import gc
import hashlib
import importlib
import json
import logging
import math
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError, safe_open

from . import devices
from .devices import format_bytes, module_bytes, parse_bytes  # noqa: F401 - also registry.<name> for callers
from .cards import REPO_ROOT, list_cards, where
from .errors import ModelUnavailable

log = logging.getLogger(__name__)
BUDGET_ENV = "PLAYGROUND_MEMORY_BUDGET"
DEFAULT_BUDGET = 4 * 1024**3
BYTES_PER_PARAM = 4  # every family loads float32 (diffusers' and our loaders' default; style_vgg casts .float())
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")
HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.md"]  # no pickles, no code
NEEDS_NETWORK = "needs network"
SETTINGS_FILE = re.compile(r"(.+_)?config\.json|model_index\.json|playground\.json")  # what the loaders read


def save_weights(folder, model, config):
    """Write config.json (constructor kwargs) and model.safetensors for a model."""
    from safetensors.torch import save_file  # lazy: imports torch, which loads on first use
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))


def weights_file(folder):
    """folder/model.safetensors; refuses a folder holding only pickled weights, with a message that says so."""
    folder = Path(folder)
    weights = folder / "model.safetensors"
    if not weights.is_file():
        pickles = sorted(p.name for p in folder.glob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickles:
            raise ModelUnavailable(f"Refusing pickled weights {pickles} in {where(folder)}: only "
                                   "model.safetensors is loaded (pickles can run code).")
        raise ModelUnavailable(f"No model.safetensors in {where(folder)}; train or download the model first.")
    return weights


def load_weights(folder, build, device="cpu"):
    """Build a model from config.json and load model.safetensors; refuses pickled weights."""
    from safetensors.torch import load_file  # lazy: imports torch, which loads on first use
    folder = Path(folder)
    weights = weights_file(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    model = build(config)
    model.load_state_dict(load_file(str(weights), device=str(device)), strict=True)
    return model


def check_files(card, folder):
    """Refuse a local model folder whose config.json is missing (beside model.safetensors) or whose settings
    files (SETTINGS_FILE, JSON objects) or safetensors files cannot be read, with a message naming the model,
    the file (repository-relative, from the card's source) and the remedy, not an error from inside a loader."""

    def refuse(path, state):
        what, verb = ("weights", "are") if path.suffix == ".safetensors" else ("settings file", "is")
        remedy = (f"retrain with `{card.train_command}` or restore the file" if card.train_command
                  else "restore the file")
        name = f"{card.source}/{path.relative_to(folder).as_posix()}"
        raise ModelUnavailable(f"The {what} of {card.id} ({name}) {verb} {state}; {remedy}.")

    folder = Path(folder)
    if (folder / "model.safetensors").is_file() and not (folder / "config.json").is_file():
        refuse(folder / "config.json", "missing")
    for path in sorted(p for p in folder.rglob("*.json") if SETTINGS_FILE.fullmatch(p.name)):
        try:
            ok = isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
        except (OSError, ValueError):  # ValueError covers bad JSON and bytes that are not UTF-8
            ok = False
        if not ok:
            refuse(path, "damaged (not a valid JSON object)")
    for path in sorted(folder.rglob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except (OSError, SafetensorError):
            refuse(path, "damaged (cut short, or not a safetensors file)")


def family_module(family):
    """The module playground.families.<family>."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", family):
        raise ModelUnavailable(f"Unknown model family {family!r}.")
    return importlib.import_module(f"playground.families.{family}")


def hub_patterns(family):
    """The files a hub card of this family may fetch: the family's HUB_PATTERNS (narrower, e.g. one
    precision of each part) or the default, and never anything but json, txt, md and safetensors."""
    patterns = getattr(family_module(family), "HUB_PATTERNS", HUB_PATTERNS)
    bad = [p for p in patterns if not p.endswith((".json", ".txt", ".md", ".safetensors"))]
    if bad:
        raise ModelUnavailable(f"The {family} family asks the hub for files other than json, txt, md or "
                               f"safetensors: {bad}")
    return list(patterns)


def hub_offline():
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


_reachable = {}


def hub_reachable(timeout=1.5):
    """Whether the hub answers at all (checked once per process, never when offline)."""
    if hub_offline():
        return False
    if "hub" not in _reachable:
        try:
            socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
            _reachable["hub"] = True
        except OSError:
            _reachable["hub"] = False
    return _reachable["hub"]


_hashes = {}  # the weights files' (path, size, mtime) -> their SHA-256 (Registry.weights_sha256)


@dataclass
class _Entry:
    model: object  # torch.nn.Module
    device: str
    bytes: int
    load_seconds: float
    last_used: float
    in_use: int = 0


class Registry:
    def __init__(self, cards_dir=None, root=REPO_ROOT, memory_budget=None, device=None):
        self.cards_dir, self.root = cards_dir, Path(root)
        budget = memory_budget or os.environ.get(BUDGET_ENV) or DEFAULT_BUDGET
        self.memory_budget = parse_bytes(budget)
        self._device_preference, self._device = device, None
        self.load_count = 0
        self._cards = None
        self._entries = {}
        self._lock = threading.RLock()
        self._loading = {}

    @property
    def device(self):
        """The device models load onto (chosen on first use: importing torch takes a while)."""
        if self._device is None:
            self._device = devices.pick_device(self._device_preference)
        return self._device

    # cards ---------------------------------------------------------------
    def cards(self):
        with self._lock:
            if self._cards is None:
                self._cards = {c.id: c for c in list_cards(self.cards_dir)}
            return dict(self._cards)

    def card(self, model_id):
        cards = self.cards()
        if model_id not in cards:
            raise ModelUnavailable(f"No model card for {model_id!r}; known models: {', '.join(sorted(cards))}.")
        return cards[model_id]

    def measured(self, family, dataset, metric):
        """(id, value) of the first card (by id) of this family and data set whose metrics include
        `metric`, or None: e.g. the GAN's FD beside a diffusion model's."""
        for model_id, card in sorted(self.cards().items()):
            if card.family == family and card.dataset == dataset and metric in (card.metrics or {}):
                return model_id, float(card.metrics[metric])
        return None

    def availability(self, model_id):
        """'local', 'cached', 'needs network', 'downloads on first use' or 'missing weights'."""
        card = self.card(model_id)
        if not card.is_hub:
            folder = self.root / card.source
            ok = (folder / "model.safetensors").is_file() or (folder / "model_index.json").is_file()
            return "local" if ok else "missing weights"
        try:
            self._hub_folder(card, local_only=True)
            return "cached"
        except ModelUnavailable:
            return "downloads on first use" if hub_reachable() else NEEDS_NETWORK

    def _hub_folder(self, card, local_only):
        from huggingface_hub import snapshot_download  # lazy: slow to import, and only the hub needs it
        patterns = hub_patterns(card.family)  # outside the try: a bad family is not a network problem
        try:
            path = snapshot_download(card.hub_repo, revision=card.revision, allow_patterns=patterns,
                                     cache_dir=os.environ.get("HF_HUB_CACHE") or None,
                                     local_files_only=local_only or hub_offline())
        except Exception as e:  # offline, unreachable, or not in the cache
            raise ModelUnavailable(f"{card.title} ({card.id}) {NEEDS_NETWORK}: it comes from the "
                                   f"Hugging Face hub ({card.hub_repo}) and is not in the local cache.") from e
        return Path(path)

    def weights_sha256(self, model_id):
        """SHA-256 of a model's *.safetensors files (name order) for records and result keys, read again only
        when a file's size or time changes; a hub model not on this machine is named by its pinned revision."""
        card = self.card(model_id)
        if card.is_hub and self.availability(model_id) != "cached":
            return f"revision:{card.revision}"
        files = sorted(self.folder(model_id).rglob("*.safetensors"))
        stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
        if stamp not in _hashes:
            digest = hashlib.sha256()
            for f in files:
                with open(f, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
            _hashes[stamp] = digest.hexdigest()
        return _hashes[stamp]

    def folder(self, model_id):
        card = self.card(model_id)
        if card.is_hub:
            return self._hub_folder(card, local_only=not hub_reachable())
        return self.root / card.source

    # loading -------------------------------------------------------------
    def _load(self, card):
        family = family_module(card.family)
        folder = self.folder(card.id)
        if not card.is_hub:
            check_files(card, folder)
        start = time.perf_counter()
        if hasattr(family, "load"):
            model = family.load(folder)
        else:
            model = load_weights(folder, family.build)
        model = model.to(self.device).eval().requires_grad_(False)
        return model, time.perf_counter() - start

    def _estimate(self, model_id):
        """Bytes the model will hold: its local safetensors files (the card's parameter count at BYTES_PER_PARAM when
        there are none); for a hub card, that count, or the cached snapshot's safetensors if they hold less (some
        loaders read part of the files: VGG-19 up to relu5_1)."""
        card = self.card(model_id)
        if not card.is_hub:
            folder = self.root / card.source
            on_disk = sum(p.stat().st_size for p in folder.rglob("*.safetensors")) if folder.is_dir() else 0
            return on_disk or card.params * BYTES_PER_PARAM
        from_card = card.params * BYTES_PER_PARAM
        try:
            folder = self._hub_folder(card, local_only=True)
        except ModelUnavailable:  # not downloaded yet
            return from_card
        patterns = hub_patterns(card.family)
        files = [p for p in folder.rglob("*.safetensors")
                 if any(fnmatch.fnmatch(p.relative_to(folder).as_posix(), pattern) for pattern in patterns)]
        on_disk = sum(p.stat().st_size for p in files)
        return min(from_card, on_disk) if on_disk else from_card

    def _too_big(self, card, estimate):
        """The message for a model whose estimate alone passes the budget: the sizes and how to raise it."""
        suggest = math.ceil(estimate / 1024**3) + 1
        return (f"{card.title} ({card.id}) needs about {format_bytes(estimate)} of memory, more than the memory "
                f"budget of {format_bytes(self.memory_budget)}. Start the app with a larger budget, for example "
                f"--memory-budget {suggest}GB (or PLAYGROUND_MEMORY_BUDGET={suggest}GB).")

    def _make_room(self, needed, keep):
        """Evict least recently used idle models until `needed` more bytes fit the budget."""
        with self._lock:
            idle = sorted((e.last_used, i) for i, e in self._entries.items() if e.in_use == 0 and i != keep)
            for _, model_id in idle:
                if self.resident_bytes() + needed <= self.memory_budget:
                    break
                log.info("evicting %s to stay within the memory budget", model_id)
                self._drop(model_id)

    def get_model(self, model_id):
        """The model for a card, loaded on first use; concurrent first calls share one load."""
        while True:
            with self._lock:
                entry = self._entries.get(model_id)
                if entry is not None:
                    entry.last_used = time.monotonic()
                    return entry.model
                card = self.card(model_id)
                event = self._loading.get(model_id)
                if event is None:
                    event = self._loading[model_id] = threading.Event()
                    break
            event.wait()
            with self._lock:
                if model_id not in self._entries and model_id not in self._loading:
                    raise ModelUnavailable(f"Loading {model_id} failed; see the server log.")
        try:
            estimate = self._estimate(model_id)
            if estimate > self.memory_budget:
                if card.is_hub and not hub_reachable():
                    self._hub_folder(card, local_only=True)  # offline and not cached: "needs network" comes first
                raise ModelUnavailable(self._too_big(card, estimate))
            self._make_room(estimate, keep=model_id)
            model, seconds = self._load(card)
            size = module_bytes(model)
            with self._lock:
                self.load_count += 1
                self._entries[model_id] = _Entry(model, str(self.device), size, seconds, time.monotonic())
            self._make_room(0, keep=model_id)
            return model
        finally:
            with self._lock:
                self._loading.pop(model_id).set()

    @contextlib.contextmanager
    def using(self, model_id):
        """The model, protected from eviction until the block ends."""
        while True:
            model = self.get_model(model_id)
            with self._lock:
                entry = self._entries.get(model_id)
                if entry is not None and entry.model is model:  # not evicted in between
                    entry.in_use += 1
                    break
        try:
            yield model
        finally:
            with self._lock:
                entry.in_use -= 1
                entry.last_used = time.monotonic()

    def _drop(self, model_id):
        entry = self._entries.pop(model_id, None)
        if entry is None:
            return False
        del entry
        gc.collect()
        import torch  # lazy: torch loads on first use, not when the UI is built
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return True

    def unload(self, model_id):
        """Free a model; refused (False) while it is in use."""
        with self._lock:
            entry = self._entries.get(model_id)
            if entry is None or entry.in_use:
                return False
            return self._drop(model_id)

    def resident_bytes(self):
        with self._lock:
            return sum(e.bytes for e in self._entries.values())

    def status(self):
        """One row per card: availability, loaded, device, bytes, load seconds, last use."""
        rows = []
        with self._lock:
            entries = dict(self._entries)
        now_wall, now_mono = time.time(), time.monotonic()
        for model_id, card in sorted(self.cards().items()):
            e = entries.get(model_id)
            rows.append({
                "id": model_id, "family": card.family, "title": card.title,
                "availability": self.availability(model_id),
                "loaded": e is not None, "device": e.device if e else "",
                "bytes": e.bytes if e else 0, "load_seconds": round(e.load_seconds, 3) if e else None,
                "last_used": now_wall - (now_mono - e.last_used) if e else None,
                "in_use": e.in_use if e else 0,
            })
        return rows


_default = None
_default_lock = threading.Lock()


def configure(**kwargs):
    """Replace the process-wide registry (app start-up: memory budget, device, cards)."""
    global _default
    with _default_lock:
        _default = Registry(**kwargs)
    return _default


def default():
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry()
        return _default


def get_model(model_id):
    return default().get_model(model_id)


def using(model_id):
    return default().using(model_id)


def unload(model_id):
    return default().unload(model_id)


def status():
    return default().status()
