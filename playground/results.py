"""A shared result cache: the same click with the same settings answers from disk, for every session.

    @results.cached("gan.generate")
    def generate(model_id, seed, side, psi, label=ALL): ...

A result is keyed by the action's name, its arguments (as the user sent them; arrays by their bytes),
the SHA-256 of the weights of every model id among them (registry.weights_sha256), a fingerprint of
the playground's own code, and the versions and device results depend on. So a key names one
computation, and a hit returns the same values a fresh run gives (tests/unit/test_results.py checks it
on real actions). Values are arrays, numbers, strings, None, files the action wrote into the temp folder
(a GIF, an export zip: kept as bytes, written again on a hit), and tuples, lists and dicts of them,
stored as one .npz per result (arrays, and the structure as JSON; never a pickle) in RESULTS_DIR,
at most MAX_BYTES in all, the least recently used dropped first. An action whose result holds
anything else, or whose arguments are not plain values, is computed every time.

Generators (views that stream partial results) are cached by their last value: a hit yields it once.
A call may pass `should_stop` (a callable, the view's Stop: tabs/stopping.py); it is not part of the key, and a
run during which it turned true is never stored, whatever it ended with: a stopped run's partial result
must not answer the next full run.
"""
import contextlib
import functools
import hashlib
import inspect
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from . import datasets, devices, registry
from .cards import REPO_ROOT

log = logging.getLogger(__name__)
RESULTS_DIR_ENV = "PLAYGROUND_RESULTS_DIR"
MAX_BYTES = 256 * 1024**2  # about a thousand default grids; a Space's disk is small
MAX_FILE_BYTES = 32 * 1024**2  # a file an action wrote (an animation, an export) is kept up to this size
MAX_ARG_CHARS = 4096  # arguments longer than this as JSON (a long prompt, a big list) are not cached
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0, "stored": 0, "uncacheable": 0}


class Uncacheable(Exception):
    """A value the cache does not store."""


class NotCached(Exception):
    """Raised, inside cache_only(), by a cached action whose result is not stored."""


_local = threading.local()


@contextlib.contextmanager
def cache_only():
    """Within this block (in this thread) a cached action answers only from the cache: on a miss it raises
    NotCached instead of computing. Used to open a tab with a heavy view's result when it is already known."""
    before = getattr(_local, "only", False)
    _local.only = True
    try:
        yield
    finally:
        _local.only = before


def folder():
    return Path(os.environ.get(RESULTS_DIR_ENV) or REPO_ROOT / "runs" / "results")


@functools.lru_cache(maxsize=1)
def code_fingerprint():
    """SHA-256 of the playground package's Python files: a change of code is a change of key."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _plain(value, digest):
    """Feed an argument into the key; Uncacheable for anything but plain values and arrays."""
    if isinstance(value, np.ndarray):
        digest.update(f"array {value.dtype} {value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
        return "<array>"
    if isinstance(value, (list, tuple)):
        return [_plain(v, digest) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, digest) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # a browser's 1 and an API client's 1.0 are one setting
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise Uncacheable(type(value).__name__)


def _model_ids(value, known):
    if isinstance(value, str) and value in known:
        return [value]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _model_ids(v, known)]
    return []


def key(name, args, kwargs):
    """The hex key of a call (Uncacheable when its arguments are not plain values)."""
    digest = hashlib.sha256()
    plain = json.dumps([name, _plain(list(args), digest), _plain(kwargs, digest)], sort_keys=True, default=str)
    if len(plain) > MAX_ARG_CHARS:
        raise Uncacheable("arguments too long")
    reg = registry.default()
    known = reg.cards()
    models = {m: [reg.weights_sha256(m), _settings(reg, m)]
              for m in sorted(set(_model_ids([args, list(kwargs.values())], known)))}
    digest.update(json.dumps([plain, models, _environment(), str(reg.device), torch_threads(),
                              [d.training_installed() for d in datasets.DATASETS.values()]], sort_keys=True).encode())
    return digest.hexdigest()


def _settings(reg, model_id):
    """The text of a local model's settings files (config.json, ...): they change results as weights do."""
    card = reg.card(model_id)
    if card.is_hub:
        return card.revision
    return {p.name: p.read_text() for p in sorted((reg.root / card.source).glob("*.json"))}


@functools.lru_cache(maxsize=1)
def _environment():
    return [code_fingerprint(), devices.versions()]


def torch_threads():
    import torch  # lazy: only when a result is looked up (the models that made it imported torch already)
    return torch.get_num_threads()


def _pack(value, arrays):
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise Uncacheable("object array")
        arrays.append(value)
        return {"$a": len(arrays) - 1}
    if isinstance(value, np.generic):
        arrays.append(np.asarray(value))
        return {"$s": len(arrays) - 1}
    if isinstance(value, tuple):
        return {"$t": [_pack(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_pack(v, arrays) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise Uncacheable("dict with keys that are not strings")
        return {"$d": {k: _pack(v, arrays) for k, v in value.items()}}
    if isinstance(value, str) and _made_file(value):
        arrays.append(np.frombuffer(Path(value).read_bytes(), np.uint8))
        return {"$f": len(arrays) - 1, "name": Path(value).name}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise Uncacheable(type(value).__name__)


def _made_file(text):
    """Whether a string is the path of a file an action wrote for the user (a GIF, a zip) in the temp folder."""
    if len(text) > 1024 or "\0" in text or not text.startswith(tempfile.gettempdir() + os.sep):
        return False
    path = Path(text)
    return path.is_file() and path.stat().st_size <= MAX_FILE_BYTES


def _unpack(tree, arrays):
    if isinstance(tree, list):
        return [_unpack(v, arrays) for v in tree]
    if isinstance(tree, dict):
        if "$a" in tree:
            return arrays[f"a{tree['$a']}"]
        if "$s" in tree:
            return arrays[f"a{tree['$s']}"][()]
        if "$f" in tree:  # a file the action wrote: written again, into a folder of its own
            path = Path(tempfile.mkdtemp(prefix="result-")) / Path(tree["name"]).name
            path.write_bytes(arrays[f"a{tree['$f']}"].tobytes())
            return str(path)
        if "$t" in tree:
            return tuple(_unpack(v, arrays) for v in tree["$t"])
        return {k: _unpack(v, arrays) for k, v in tree["$d"].items()}
    return tree


def store(k, value):
    """Write a result under key k (Uncacheable if it holds something else); then keep the folder in bounds."""
    arrays = []
    tree = json.dumps(_pack(value, arrays))
    where = folder()
    where.mkdir(parents=True, exist_ok=True)
    payload = {f"a{i}": a for i, a in enumerate(arrays)}
    payload["tree"] = np.frombuffer(tree.encode(), np.uint8)
    with tempfile.NamedTemporaryFile(dir=where, suffix=".tmp", delete=False) as f:
        np.savez(f, **payload)
    os.replace(f.name, where / f"{k}.npz")
    stats["stored"] += 1
    _bound(where)


def load(k):
    """The result stored under key k, or None."""
    path = folder() / f"{k}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        os.utime(path)  # recently used
    except (OSError, ValueError, KeyError):
        return None
    return _unpack(json.loads(arrays.pop("tree").tobytes().decode()), arrays)


def _bound(where, max_bytes=None):
    """Drop the least recently used results until the folder holds at most max_bytes (MAX_BYTES)."""
    limit = MAX_BYTES if max_bytes is None else max_bytes
    with _lock:
        entries = []
        for p in where.glob("*.npz"):
            try:
                st = p.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries, key=lambda e: e[0]):
            if total <= limit:
                break
            p.unlink(missing_ok=True)
            total -= size


def _stop_kwarg(should_stop):
    """The should_stop keyword for the action itself, only when one was given (actions without a Stop take none)."""
    return {} if should_stop is None else {"should_stop": should_stop}


def cached(name, keep_if=None):
    """Decorator: answer a call from the cache when the same computation was stored; store it otherwise.
    keep_if(value, args, kwargs), when given, says whether a finished result may be stored (not one that a
    deadline cut short, say)."""
    def wrap(fn):
        def lookup(args, kwargs):
            try:
                k = key(name, args, kwargs)
            except Uncacheable:
                stats["uncacheable"] += 1
                k = None
            value = load(k) if k is not None else None
            stats["hits" if value is not None else "misses"] += 1
            if value is None and getattr(_local, "only", False):
                raise NotCached(name)
            return k, value

        def keep(k, value, args, kwargs, should_stop):
            if should_stop is not None and should_stop():
                log.info("%s: stopped by the user, not cached", name)
                return
            if keep_if is not None and not keep_if(value, args, kwargs):
                return
            try:
                store(k, value)
            except Uncacheable as why:
                stats["uncacheable"] += 1
                log.debug("%s: result not cached (%s)", name, why)
            except OSError:
                log.exception("%s: could not store a result", name)

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def streamed(*args, should_stop=None, **kwargs):
                k, value = lookup(args, kwargs)
                if value is not None:
                    yield value
                    return
                last = None
                for last in fn(*args, **kwargs, **_stop_kwarg(should_stop)):
                    yield last
                if k is not None and last is not None:
                    keep(k, last, args, kwargs, should_stop)
            return streamed

        @functools.wraps(fn)
        def call(*args, should_stop=None, **kwargs):
            k, value = lookup(args, kwargs)
            if value is not None:
                return value
            value = fn(*args, **kwargs, **_stop_kwarg(should_stop))
            if k is not None:
                keep(k, value, args, kwargs, should_stop)
            return value
        return call
    return wrap
