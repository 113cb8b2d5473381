"""The registry with tiny real models saved as safetensors in temp dirs."""
import gc
import os
import pickle
import sys
import textwrap
import threading
import time
import types
import weakref

import pytest
import torch

from playground import devices, registry
from playground.cards import CardError, list_cards, parse_card, write_metrics
from playground.errors import InputError, ModelUnavailable

torch.set_num_threads(1)
REV = "0123456789abcdef0123456789abcdef01234567"


class Tiny(torch.nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.lin = torch.nn.Linear(width, width)

    def forward(self, x):
        return self.lin(x)


BUILDS = []


def _build(config):
    BUILDS.append(config)
    time.sleep(config.get("sleep", 0))
    return Tiny(config["width"])


@pytest.fixture(autouse=True)
def tiny_family(monkeypatch):
    module = types.ModuleType("playground.families.tinytest")
    module.build = _build
    module.default_action = lambda model, seed: model(torch.randn(2, model.lin.in_features,
                                                                  generator=devices.generator(seed)))
    monkeypatch.setitem(sys.modules, "playground.families.tinytest", module)
    BUILDS.clear()


def card_text(model_id, source=None, revision=None, extra=""):
    source = source or f"weights/{model_id}"
    rev = revision if revision else "null"
    return textwrap.dedent(f"""\
        ---
        id: {model_id}
        family: tinytest
        title: Tiny {model_id}
        source: {source}
        revision: {rev}
        dataset: none
        license: MIT
        params: 20
        resolution: 4x1
        train_command: null
        metrics: {{score: 1.5}}
        metrics_command: python -m playground.evaluate {model_id} --write
        {extra}---

        Prose about {model_id}.
        """)


def make_model(root, model_id, width=4, sleep=0, **card):
    (root / "model_cards").mkdir(exist_ok=True)
    (root / "model_cards" / f"{model_id}.md").write_text(card_text(model_id, **card))
    torch.manual_seed(len(model_id))
    model = Tiny(width)
    registry.save_weights(root / "weights" / model_id, model, {"width": width, "sleep": sleep})
    return model


def make_registry(root, **kw):
    return registry.Registry(cards_dir=root / "model_cards", root=root, **kw)


def test_card_parses_with_body(tmp_path):
    make_model(tmp_path, "tiny-a")
    (card,) = list_cards(tmp_path / "model_cards")
    assert card.id == "tiny-a" and card.family == "tinytest" and card.metrics == {"score": 1.5}
    assert card.body.startswith("Prose about tiny-a") and not card.is_hub


@pytest.mark.parametrize("edit, key", [
    (lambda t: t.replace("license: MIT\n", ""), "'license'"),
    (lambda t: t.replace("dataset: none\n", "dataset: none\ncolour: blue\n"), "'colour'"),
    (lambda t: t.replace("params: 20", "params: many"), "'params'"),
    (lambda t: t.replace("metrics: {score: 1.5}", "metrics: {score: high}"), "'metrics'"),
    (lambda t: t.replace("source: weights/tiny-a", "source: hub:org/name"), "'revision'"),
    (lambda t: t.replace("source: weights/tiny-a", "source: ../../etc"), "'source'"),
    (lambda t: t.replace("id: tiny-a", "id: tiny-b"), "'id'"),
])
def test_bad_card_names_file_and_key(tmp_path, edit, key):
    path = tmp_path / "tiny-a.md"
    path.write_text(edit(card_text("tiny-a")))
    with pytest.raises(CardError) as info:
        parse_card(path)
    assert str(path) in str(info.value) and key in str(info.value)


def test_write_metrics_keeps_everything_else(tmp_path):
    make_model(tmp_path, "tiny-a")
    path = tmp_path / "model_cards" / "tiny-a.md"
    write_metrics(path, {"score": 2.25, "n": 3})
    card = parse_card(path)
    assert card.metrics == {"score": 2.25, "n": 3} and card.title == "Tiny tiny-a"
    assert card.body.startswith("Prose about tiny-a")


def test_get_model_loads_safetensors_and_config(tmp_path):
    original = make_model(tmp_path, "tiny-a", width=6)
    reg = make_registry(tmp_path)
    model = reg.get_model("tiny-a")
    x = torch.randn(3, 6)
    assert torch.equal(model(x), original(x))
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    assert reg.get_model("tiny-a") is model and reg.load_count == 1
    with pytest.raises(ModelUnavailable, match="No model card"):
        reg.get_model("nope")


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("force_unsafe", ["", "1"])
def test_pickled_weights_are_refused(tmp_path, monkeypatch, force_unsafe):
    if force_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    make_model(tmp_path, "tiny-a")
    folder = tmp_path / "weights" / "tiny-a"
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    with open(folder / "model.pt", "wb") as f:
        pickle.dump({"lin.weight": Evil(str(marker))}, f)
    reg = make_registry(tmp_path)
    with pytest.raises(ModelUnavailable, match="pickled"):
        reg.get_model("tiny-a")
    assert not marker.exists()
    assert reg.availability("tiny-a") == "missing weights"


def test_single_flight(tmp_path):
    make_model(tmp_path, "tiny-a", sleep=0.3)
    reg = make_registry(tmp_path)
    results, barrier = [], threading.Barrier(8)

    def ask():
        barrier.wait()
        results.append(reg.get_model("tiny-a"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(m is results[0] for m in results)
    assert reg.load_count == 1 and len(BUILDS) == 1


def test_failed_load_is_reported_to_waiters_and_retried(tmp_path):
    make_model(tmp_path, "tiny-a")
    (tmp_path / "weights" / "tiny-a" / "model.safetensors").write_bytes(b"garbage")
    reg = make_registry(tmp_path)
    with pytest.raises(Exception):
        reg.get_model("tiny-a")
    make_model(tmp_path, "tiny-a")
    assert reg.get_model("tiny-a") is not None


def test_lru_eviction_frees_memory_and_spares_models_in_use(tmp_path):
    for name in ("tiny-a", "tiny-b", "tiny-c"):
        make_model(tmp_path, name, width=64)
    one = registry.module_bytes(Tiny(64))
    reg = make_registry(tmp_path, memory_budget=int(2.5 * one))
    a = weakref.ref(reg.get_model("tiny-a"))
    reg.get_model("tiny-b")
    reg.get_model("tiny-c")  # evicts a, the least recently used
    gc.collect()
    assert a() is None
    assert [r["id"] for r in reg.status() if r["loaded"]] == ["tiny-b", "tiny-c"]
    assert reg.resident_bytes() <= reg.memory_budget
    with reg.using("tiny-b"):
        reg.get_model("tiny-a")  # b is older than c but in use: c goes
        loaded = {r["id"] for r in reg.status() if r["loaded"]}
        assert loaded == {"tiny-a", "tiny-b"}
        assert reg.unload("tiny-b") is False  # in use
    assert reg.unload("tiny-b") is True


def test_model_larger_than_budget_is_refused(tmp_path):
    make_model(tmp_path, "tiny-a", width=64)
    reg = make_registry(tmp_path, memory_budget="1KB")
    with pytest.raises(ModelUnavailable, match="memory budget"):
        reg.get_model("tiny-a")


def test_status_and_unload(tmp_path):
    make_model(tmp_path, "tiny-a")
    reg = make_registry(tmp_path)
    (row,) = reg.status()
    assert row["loaded"] is False and row["availability"] == "local"
    reg.get_model("tiny-a")
    (row,) = reg.status()
    assert row["loaded"] and row["device"] == "cpu" and row["bytes"] == 80
    assert row["load_seconds"] >= 0 and abs(row["last_used"] - time.time()) < 5
    assert reg.unload("tiny-a") and not reg.status()[0]["loaded"]


def test_memory_budget_parsing(monkeypatch):
    assert registry.parse_bytes("4GB") == 4 * 1024**3
    assert registry.parse_bytes("512 mb") == 512 * 1024**2
    assert registry.parse_bytes(1000) == 1000
    for bad in ("lots", "-1GB", "0"):
        with pytest.raises(ValueError):
            registry.parse_bytes(bad)
    monkeypatch.setenv("PLAYGROUND_MEMORY_BUDGET", "3GB")
    assert registry.Registry(cards_dir="/nonexistent").memory_budget == 3 * 1024**3


def test_device_choice(monkeypatch):
    assert devices.pick_device().type == devices.available_devices()[0]
    assert devices.pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="not available"):
            devices.pick_device("cuda")
    monkeypatch.setenv("PLAYGROUND_DEVICE", "cpu")
    assert devices.pick_device().type == "cpu"


def hub_cache(root, repo, revision, files):
    """A cache in the hub's layout: models--org--name/{refs,snapshots/<rev>/...}."""
    base = root / ("models--" + repo.replace("/", "--"))
    snap = base / "snapshots" / revision
    snap.mkdir(parents=True)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(revision)
    for name, data in files.items():
        (snap / name).write_bytes(data)
    return snap


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_hub_model_from_cache_at_pinned_revision(tmp_path, offline_hub):
    original = make_model(tmp_path, "local-copy", width=5)
    folder = tmp_path / "weights" / "local-copy"
    files = {n: (folder / n).read_bytes() for n in ("config.json", "model.safetensors")}
    hub_cache(offline_hub, "someorg/tiny", REV, files)
    (tmp_path / "model_cards" / "tiny-hub.md").write_text(
        card_text("tiny-hub", source="hub:someorg/tiny", revision=REV))
    reg = make_registry(tmp_path)
    assert reg.availability("tiny-hub") == "cached"
    x = torch.randn(2, 5)
    assert torch.equal(reg.get_model("tiny-hub")(x), original(x))


def test_hub_model_missing_offline_needs_network(tmp_path, offline_hub):
    make_model(tmp_path, "tiny-a")
    (tmp_path / "model_cards" / "tiny-hub.md").write_text(
        card_text("tiny-hub", source="hub:someorg/absent", revision=REV))
    reg = make_registry(tmp_path)
    assert reg.availability("tiny-hub") == registry.NEEDS_NETWORK
    with pytest.raises(ModelUnavailable, match="needs network"):
        reg.get_model("tiny-hub")
    rows = {r["id"]: r for r in reg.status()}
    assert rows["tiny-hub"]["availability"] == "needs network" and rows["tiny-a"]["availability"] == "local"
    assert reg.get_model("tiny-a") is not None  # the rest keeps working


def test_hub_snapshot_with_only_pickles_is_refused(tmp_path, offline_hub):
    marker = tmp_path / "pwned"
    hub_cache(offline_hub, "someorg/evil", REV,
              {"config.json": b'{"width": 4}', "pytorch_model.bin": pickle.dumps(Evil(str(marker)))})
    (tmp_path / "model_cards").mkdir()
    (tmp_path / "model_cards" / "evil.md").write_text(card_text("evil", source="hub:someorg/evil", revision=REV))
    reg = make_registry(tmp_path)
    with pytest.raises(ModelUnavailable, match="pickled"):
        reg.get_model("evil")
    assert not marker.exists()


def test_hub_ids_without_a_card_are_not_loadable(tmp_path, offline_hub):
    make_model(tmp_path, "tiny-a")
    reg = make_registry(tmp_path)
    with pytest.raises(ModelUnavailable, match="No model card"):
        reg.get_model("hub:someorg/tiny")


def test_default_action_is_seeded(tmp_path):
    make_model(tmp_path, "tiny-a")
    reg = make_registry(tmp_path)
    family = registry.family_module("tinytest")
    model = reg.get_model("tiny-a")
    assert torch.equal(family.default_action(model, 3), family.default_action(model, 3))
    assert not torch.equal(family.default_action(model, 3), family.default_action(model, 4))
    assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") is None


TRAIN = "python -m playground.train.tiny --steps 5"


def _damage(folder, name, how):
    path = folder / name
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:-7])
    elif how == "random bytes":
        path.write_bytes(bytes(torch.randint(0, 256, (300,), generator=torch.Generator().manual_seed(1)).tolist()))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "not an object":
        path.write_text("[4]")
    elif how == "missing":
        path.unlink()


@pytest.mark.parametrize("name, how", [
    ("model.safetensors", "truncated"), ("model.safetensors", "random bytes"), ("model.safetensors", "empty"),
    ("config.json", "truncated"), ("config.json", "random bytes"), ("config.json", "not an object"),
    ("config.json", "missing")])
def test_damaged_files_name_the_model_the_file_and_the_remedy(tmp_path, name, how):
    make_model(tmp_path, "tiny-a")
    card = tmp_path / "model_cards" / "tiny-a.md"
    card.write_text(card.read_text().replace("train_command: null", f"train_command: {TRAIN}"))
    _damage(tmp_path / "weights" / "tiny-a", name, how)
    reg = make_registry(tmp_path)
    with pytest.raises(ModelUnavailable) as info:
        reg.get_model("tiny-a")
    text = str(info.value)
    what = "weights" if name.endswith(".safetensors") else "settings file"
    state = "missing" if how == "missing" else "damaged"
    assert text.startswith(f"The {what} of tiny-a (weights/tiny-a/{name}) {'are' if what == 'weights' else 'is'} "
                           f"{state}") and f"retrain with `{TRAIN}` or restore the file" in text
    assert str(tmp_path) not in text and "Error" not in text and "header" not in text
    make_model(tmp_path, "tiny-a")  # restored: it loads
    assert reg.get_model("tiny-a") is not None


def test_damaged_file_of_a_model_without_a_training_command(tmp_path):
    make_model(tmp_path, "tiny-a")
    _damage(tmp_path / "weights" / "tiny-a", "model.safetensors", "truncated")
    with pytest.raises(ModelUnavailable, match=r"^The weights of tiny-a \(weights/tiny-a/model.safetensors\) are "
                                               r"damaged.*; restore the file"):
        make_registry(tmp_path).get_model("tiny-a")


def test_damaged_file_in_a_subfolder_is_named(tmp_path):
    make_model(tmp_path, "tiny-a")
    (tmp_path / "weights" / "tiny-a" / "losses.json").write_text("[1, 2]")  # not a settings file: not read
    assert make_registry(tmp_path).get_model("tiny-a") is not None
    sub = tmp_path / "weights" / "tiny-a" / "unet"
    sub.mkdir()
    (sub / "config.json").write_text('{"width": ')
    with pytest.raises(ModelUnavailable, match=r"weights/tiny-a/unet/config.json\) is damaged"):
        make_registry(tmp_path).get_model("tiny-a")


def hub_card(root, model_id, params):
    (root / "model_cards").mkdir(exist_ok=True)
    text = card_text(model_id, source=f"hub:someorg/{model_id}", revision=REV)
    (root / "model_cards" / f"{model_id}.md").write_text(text.replace("params: 20", f"params: {params}"))


def test_estimate_of_a_hub_card_is_its_parameters_in_float32(tmp_path):
    hub_card(tmp_path, "big-hub", 1_289_952_427)  # sd-turbo's count
    make_model(tmp_path, "tiny-a", width=64)
    (tmp_path / "model_cards" / "no-files.md").write_text(card_text("no-files").replace("params: 20", "params: 1000"))
    reg = make_registry(tmp_path)
    assert reg._estimate("big-hub") == 1_289_952_427 * 4
    weights = tmp_path / "weights" / "tiny-a" / "model.safetensors"
    assert reg._estimate("tiny-a") == weights.stat().st_size  # local weights: what is on disk
    assert reg._estimate("no-files") == 4000  # no weights to measure: the card's count


def test_a_hub_model_over_the_budget_is_refused_before_any_download(tmp_path, monkeypatch):
    import huggingface_hub
    hub_card(tmp_path, "big-hub", 1_289_952_427)
    monkeypatch.setenv("HF_HUB_OFFLINE", "")
    monkeypatch.setattr(registry, "hub_reachable", lambda: True)

    def snapshot_download(*args, local_files_only=False, **kwargs):
        if local_files_only:
            raise FileNotFoundError("not in the cache")
        pytest.fail("downloaded")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    reg = make_registry(tmp_path)  # the 4 GB default
    with pytest.raises(ModelUnavailable) as info:
        reg.get_model("big-hub")
    assert str(info.value) == ("Tiny big-hub (big-hub) needs about 4.8 GB of memory, more than the memory budget of "
                               "4 GB. Start the app with a larger budget, for example --memory-budget 6GB (or "
                               "PLAYGROUND_MEMORY_BUDGET=6GB).")


def test_offline_a_big_hub_model_needs_the_network_first_and_the_budget_once_cached(tmp_path, offline_hub):
    hub_card(tmp_path, "big-hub", 1_000_000)
    reg = make_registry(tmp_path, memory_budget="2MB")
    with pytest.raises(ModelUnavailable, match="needs network"):  # raising the budget alone would not help
        reg.get_model("big-hub")
    make_model(tmp_path, "local-copy", width=1100)  # 4.6 MB of safetensors
    folder = tmp_path / "weights" / "local-copy"
    files = {n: (folder / n).read_bytes() for n in ("config.json", "model.safetensors")}
    hub_cache(offline_hub, "someorg/big-hub", REV, files)
    with pytest.raises(ModelUnavailable, match=r"needs about 3.8 MB of memory, more than the memory budget of 2 MB"):
        reg.get_model("big-hub")  # the card's 1,000,000 parameters: fewer bytes than the files, so the card counts
    hub_card(tmp_path, "big-hub", 10_000_000)
    reg = make_registry(tmp_path, memory_budget="8MB")
    assert reg._estimate("big-hub") == len(files["model.safetensors"])  # the files hold fewer than the card says
    assert reg.get_model("big-hub") is not None


def test_a_hub_model_within_the_budget_evicts_idle_models_first(tmp_path, offline_hub, monkeypatch):
    make_model(tmp_path, "tiny-a", width=64)
    make_model(tmp_path, "tiny-b", width=64)
    one = registry.module_bytes(Tiny(64))
    hub_card(tmp_path, "mid-hub", (one + 100) // 4)
    reg = make_registry(tmp_path, memory_budget=int(2.5 * one))
    reg.get_model("tiny-a")
    reg.get_model("tiny-b")
    asked = []
    monkeypatch.setattr(reg, "_load", lambda card: asked.append(reg.resident_bytes()) or (Tiny(64), 0.0))
    reg.get_model("mid-hub")
    assert asked == [one]  # the least recently used idle model (tiny-a) went before the load
    assert [r["id"] for r in reg.status() if r["loaded"]] == ["mid-hub", "tiny-b"]


@pytest.mark.parametrize("n, text", [(0, "0 B"), (1023, "1023 B"), (1024, "1 KB"), (1536, "1.5 KB"),
                                     (int(46.3 * 2**20), "46.3 MB"), (64 * 2**20, "64 MB"), (4 * 2**30, "4 GB"),
                                     (2**30 - 1, "1 GB"), (int(4.8 * 2**30), "4.8 GB"), (3 * 2**40, "3 TB"),
                                     (5000 * 2**40, "5000 TB")])
def test_format_bytes_picks_a_unit_that_fits(n, text):
    assert registry.format_bytes(n) == text
    if n:
        assert abs(registry.parse_bytes(text.replace(" ", "")) - n) <= 0.05 * n  # they read each other



def test_messages_name_a_model_folder_without_a_server_path(tmp_path):
    from playground.cards import REPO_ROOT, where
    from playground.errors import ModelUnavailable
    assert where(REPO_ROOT / "weights" / "gan-fashion") == "weights/gan-fashion"
    assert where(tmp_path / "snapshots" / "abc") == "the Hugging Face cache"
    with pytest.raises(ModelUnavailable) as info:
        registry.weights_file(tmp_path)
    assert str(tmp_path) not in str(info.value) and "the Hugging Face cache" in str(info.value)
