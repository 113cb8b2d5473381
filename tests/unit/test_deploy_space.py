"""playground.deploy_space: the computed snapshot, the dry run, and the upload against a fake hub."""
import shutil
import socket

import pytest

from playground import deploy_space, registry
from playground.cards import REPO_ROOT, list_cards

TOKEN = "hf_thisIsNotARealTokenButMustNeverBePrinted"
LOCAL_CARDS = [c for c in list_cards() if not c.is_hub]


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dry run opened a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _dry_run(capsys):
    assert deploy_space.main(["someone/playground", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {}
    for line in out[:-1]:
        path, size = line.rsplit(None, 1)
        rows[path] = int(size.replace(",", ""))
    return rows, out[-1]


def test_dry_run_lists_what_the_app_needs_and_nothing_else(capsys, no_network):
    rows, summary = _dry_run(capsys)
    for name in ("app.py", "requirements.txt", "packages.txt", "README.md", "LICENSE", "tabs/common.py",
                 "playground/registry.py", "playground/assets/fashion_gallery.npz", "docs/screenshot.png",
                 "lessons/truncation.md", "lessons/tour_gan.md", "playground/assets/watermark.json"):
        assert name in rows, name  # the lessons: the app's Lessons menu and ?lesson= links read them
    for card in LOCAL_CARDS:
        assert f"model_cards/{card.id}.md" in rows
        loaded = {f"{card.source}/model.safetensors", f"{card.source}/unet/diffusion_pytorch_model.safetensors"}
        assert loaded & set(rows), card.id
        if f"{card.source}/model.safetensors" in rows:
            assert f"{card.source}/config.json" in rows
    assert "weights/gan-fashion/timeline/losses.json" in rows  # the GAN tab's timeline reads it
    assert "weights/ddpm-fashion/playground.json" in rows
    for path in rows:
        parts = path.split("/")
        assert parts[0] not in ("tests", "runs", "artifacts", "scripts", ".git", ".venv"), path
        assert "__pycache__" not in parts and not path.endswith(".pyc"), path
        assert parts[0] != "docs" or path.endswith(".png"), path  # only the pictures README.md shows
        assert not path.endswith(("samples.png", "comparison.png", "sheet.jpg", "keras_model.json")), path
        assert rows[path] == (REPO_ROOT / path).stat().st_size
    total = sum(rows.values())
    assert total < deploy_space.LIMIT_BYTES
    assert summary.startswith(f"{len(rows)} files, {total:,} bytes") and "nothing was uploaded" in summary


@pytest.mark.slow
def test_every_local_card_loads_from_a_copy_of_the_snapshot(tmp_path):
    for rel, path in deploy_space.snapshot():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, tmp_path / rel)
    copy = registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path, device="cpu")
    for card in LOCAL_CARDS:
        assert copy.availability(card.id) == "local", card.id
        with copy.using(card.id) as model:
            assert sum(p.numel() for p in model.parameters()) > 0
        copy.unload(card.id)


def test_a_card_without_its_weights_stops_the_deploy(tmp_path):
    shutil.copytree(REPO_ROOT / "model_cards", tmp_path / "model_cards")
    for name in deploy_space.TOP_FILES:
        (tmp_path / name).write_text("x\n")
    with pytest.raises(deploy_space.DeployError, match="weights folder .* is missing"):
        deploy_space.snapshot(tmp_path)


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records what the deploy asks for."""
    made = []

    def __init__(self, token=None, fail=None):
        self.token, self.fail, self.calls = token, fail, []
        FakeHub.made.append(self)

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def list_repo_files(self, repo_id, **kwargs):
        return [".gitattributes", "app.py", "tabs/old_tab.py"]

    def create_commit(self, repo_id, operations, **kwargs):
        if self.fail:
            raise self.fail
        self.calls.append(("create_commit", repo_id, list(operations), kwargs))


@pytest.fixture
def fake_hub(monkeypatch):
    import huggingface_hub
    FakeHub.made = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHub)
    return FakeHub


def test_upload_commits_the_snapshot_and_never_prints_the_token(monkeypatch, capsys, fake_hub):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert deploy_space.main(["someone/playground"]) == 0
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err and "https://huggingface.co/spaces/someone/playground" in out.out
    (hub,) = fake_hub.made
    assert hub.token == TOKEN
    (_, repo, kwargs), (_, repo2, operations, commit) = hub.calls
    assert repo == repo2 == "someone/playground" and commit["repo_type"] == "space"
    assert kwargs["repo_type"] == "space" and kwargs["space_sdk"] == "gradio" and kwargs["exist_ok"] is True
    added = [op for op in operations if isinstance(op, CommitOperationAdd)]
    deleted = [op.path_in_repo for op in operations if isinstance(op, CommitOperationDelete)]
    assert [op.path_in_repo for op in added] == [rel for rel, _ in deploy_space.snapshot()]
    assert deleted == ["tabs/old_tab.py"]  # left by an earlier deploy; .gitattributes is the hub's own


def _http_error(status):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError
    response = httpx2.Response(status, request=httpx2.Request("POST", "https://huggingface.co/api/spaces/x/commit"))
    return HfHubHTTPError(f"{status} Client Error: Authorization: Bearer {TOKEN}", response=response)


@pytest.mark.parametrize("error, words", [
    (_http_error(401), "refused the token"),
    (_http_error(403), "may not write to someone/playground"),
    (_http_error(500), "HTTP status 500"),
    (RuntimeError(f"odd failure with {TOKEN}"), "failed (RuntimeError)"),
    (ConnectionError(f"cannot connect, token={TOKEN}"), "cannot be reached"),
])
def test_hub_errors_become_a_plain_sentence_without_the_token(monkeypatch, capsys, fake_hub, error, words):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    failing = FakeHub(token=TOKEN, fail=error)
    assert deploy_space.main(["someone/playground"], api=failing) == 1
    out = capsys.readouterr()
    assert words in out.err and TOKEN not in out.out + out.err and "Traceback" not in out.err


def test_a_missing_token_is_a_clear_message_and_exit_code_2(monkeypatch, capsys, fake_hub):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert deploy_space.main(["someone/playground"]) == 2
    err = capsys.readouterr().err
    assert "set HF_TOKEN" in err and "Nothing was uploaded" in err
    assert fake_hub.made == []  # the hub was never asked


@pytest.mark.parametrize("name", ["playground", "a/b/c", "../x", "/etc", "someone/"])
def test_a_bad_space_name_is_refused(name, capsys, fake_hub):
    assert deploy_space.main([name, "--dry-run"]) == 2
    assert "OWNER/NAME" in capsys.readouterr().err and fake_hub.made == []


def test_a_snapshot_over_the_limit_is_refused(monkeypatch, capsys, no_network):
    monkeypatch.setattr(deploy_space, "LIMIT_BYTES", 10**6)
    assert deploy_space.main(["someone/playground", "--dry-run"]) == 1
    assert "over the 1.00 MB limit; nothing was uploaded" in capsys.readouterr().err
