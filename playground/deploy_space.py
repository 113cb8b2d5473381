"""Upload the app to a Hugging Face Space: exactly the files it needs, in one commit.

    python -m playground.deploy_space OWNER/NAME --dry-run    # every file with its size; no network
    HF_TOKEN=hf_... python -m playground.deploy_space OWNER/NAME

The file list is computed from the repository (snapshot()):
- app.py, requirements.txt, packages.txt (the Debian packages a Space installs), README.md (its YAML
  front matter is the Space's configuration) and LICENSE;
- every Python file of playground/ and tabs/, and playground/assets/ (data and pictures the app reads);
- the lessons and tours (lessons/*.md: the app's Lessons menu and ?lesson= links read them);
- every model card, and for each card with local weights the files the loaders read: settings files
  (registry.SETTINGS_FILE) and *.safetensors, plus a GAN's timeline/ (actions.gan.timeline);
- the pictures README.md shows.
Nothing else: no tests, docs, runs, caches, or the figures that cards link (the app never reads them).

It is uploaded with huggingface_hub (create_repo, then one create_commit of CommitOperationAdd, and
CommitOperationDelete for files of an earlier upload that are no longer needed), so binary files need
no git LFS set-up. The token comes from $HF_TOKEN and is never printed.
"""
import argparse
import os
import re
import sys
from pathlib import Path

from .cards import REPO_ROOT, list_cards
from .registry import SETTINGS_FILE

TOP_FILES = ("app.py", "requirements.txt", "packages.txt", "README.md", "LICENSE")
CODE_FOLDERS = ("playground", "tabs")
ASSETS = "playground/assets"
LESSONS = "lessons"
TIMELINE = "timeline"
LIMIT_BYTES = 150 * 10**6
TOKEN_ENV = "HF_TOKEN"
KEEP_ON_SPACE = (".gitattributes",)  # the hub writes it; it is not ours to delete
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
README_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


class DeployError(Exception):
    """A problem the user can fix; the message says what, in plain words, and never holds the token."""


def _skipped(rel):
    return any(part.startswith(".") or part == "__pycache__" for part in Path(rel).parts)


def _files_under(root, folder, pattern="*"):
    base = root / folder
    return sorted(p for p in base.rglob(pattern) if p.is_file() and not _skipped(p.relative_to(root)))


def weights_files(card, root=REPO_ROOT):
    """The files of a card's local weights folder that the app reads (none for a hub card)."""
    if card.is_hub:
        return []
    folder = root / card.source
    if not folder.is_dir():
        raise DeployError(f"The card {card.id} names the weights folder {card.source}, which is missing: "
                          f"train the model (`{card.train_command}`) or remove its card before deploying.")
    read = [p for p in _files_under(root, card.source)
            if p.suffix == ".safetensors" or SETTINGS_FILE.fullmatch(p.name)
            or p.relative_to(folder).parts[0] == TIMELINE]
    if not read:
        raise DeployError(f"The weights folder {card.source} of {card.id} holds nothing the app can load.")
    return read


def readme_images(root=REPO_ROOT):
    """The local pictures README.md shows (the Space's page shows them too)."""
    text = (root / "README.md").read_text(encoding="utf-8")
    found = []
    for target in README_IMAGE.findall(text):
        path = root / target
        if "://" not in target and path.is_file() and not _skipped(target):
            found.append(path)
    return found


def snapshot(root=REPO_ROOT):
    """[(path in the Space, local path)] of every file the app needs, sorted, each once."""
    root = Path(root)
    missing = [name for name in TOP_FILES if not (root / name).is_file()]
    if missing:
        raise DeployError(f"The repository lacks {', '.join(missing)}; a Space needs them.")
    paths = [root / name for name in TOP_FILES]
    for folder in CODE_FOLDERS:
        paths += _files_under(root, folder, "*.py")
    paths += _files_under(root, ASSETS)
    paths += _files_under(root, LESSONS, "*.md")
    paths += _files_under(root, "model_cards", "*.md")
    try:
        cards = list_cards(root / "model_cards")
    except ValueError as e:  # CardError: the message names the card and the key
        raise DeployError(f"A model card does not follow the format: {e}") from None
    for card in cards:
        paths += weights_files(card, root)
    paths += readme_images(root)
    unique = {p.relative_to(root).as_posix(): p for p in paths}
    return sorted(unique.items())


def sizes(files):
    """[(path in the Space, bytes)] and the total."""
    rows = [(rel, path.stat().st_size) for rel, path in files]
    return rows, sum(size for _, size in rows)


def megabytes(n):
    return f"{n / 10**6:.2f} MB"


def check_size(total):
    if total > LIMIT_BYTES:
        raise DeployError(f"The snapshot is {megabytes(total)}, over the {megabytes(LIMIT_BYTES)} limit; "
                          "nothing was uploaded.")


def _hub_sentence(error, repo_id):
    """A plain sentence for a hub error: built from its kind and HTTP status, never from its text."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status == 401:
        return f"The hub refused the token in ${TOKEN_ENV}: check that it is valid and has write access."
    if status == 403:
        return f"The token in ${TOKEN_ENV} may not write to {repo_id}: use a token with write access to it."
    if status == 404:
        return f"The hub found no Space {repo_id} that this token can write to."
    if status is not None:
        return f"The hub answered with HTTP status {status} while uploading to {repo_id}; try again later."
    name = type(error).__name__
    if "Offline" in name:
        return "HF_HUB_OFFLINE is set, so nothing can be uploaded: unset it and try again."
    if isinstance(error, (ConnectionError, TimeoutError)) or any(w in name for w in ("Connect", "Timeout", "Network")):
        return "The Hugging Face hub cannot be reached from here: check the network and try again."
    return f"The upload to {repo_id} failed ({type(error).__name__}); nothing was changed on the Space."


def upload(repo_id, files, token, api=None):
    """Create the Space if needed and commit the snapshot; returns the Space's address."""
    # lazy: slow to import, and only the hub needs it
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", exist_ok=True, token=token)
        wanted = {rel for rel, _ in files}
        stale = [p for p in api.list_repo_files(repo_id, repo_type="space", token=token)
                 if p not in wanted and p not in KEEP_ON_SPACE]
        operations = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(path)) for rel, path in files]
        operations += [CommitOperationDelete(path_in_repo=p) for p in stale]
        api.create_commit(repo_id, operations, repo_type="space", token=token,
                          commit_message=f"Deploy {len(files)} files with playground.deploy_space")
    except Exception as e:  # hub errors (HTTP, network, validation): a plain sentence, no text of theirs
        raise DeployError(_hub_sentence(e, repo_id)) from None
    return f"https://huggingface.co/spaces/{repo_id}"


def main(argv=None, api=None):
    parser = argparse.ArgumentParser(prog="python -m playground.deploy_space", description=__doc__.split("\n")[0])
    parser.add_argument("repo_id", metavar="OWNER/NAME", help="the Space to create or update")
    parser.add_argument("--dry-run", action="store_true", help="list the files and their sizes; touch no network")
    args = parser.parse_args(argv)
    if not REPO_ID.fullmatch(args.repo_id) or ".." in args.repo_id:
        print(f"A Space is named OWNER/NAME (letters, digits, '-', '_', '.'), not {args.repo_id!r}.", file=sys.stderr)
        return 2
    try:
        files = snapshot()
        rows, total = sizes(files)
        if args.dry_run:
            width = max(len(rel) for rel, _ in rows)
            for rel, size in rows:
                print(f"{rel:<{width}}  {size:>11,}")
            print(f"{len(rows)} files, {total:,} bytes ({megabytes(total)}; limit {megabytes(LIMIT_BYTES)}). "
                  f"Dry run: nothing was uploaded to {args.repo_id}.")
            check_size(total)
            return 0
        check_size(total)
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            print(f"No token: set {TOKEN_ENV} to a Hugging Face token with write access "
                  "(https://huggingface.co/settings/tokens). Nothing was uploaded.", file=sys.stderr)
            return 2
        print(f"Uploading {len(rows)} files ({megabytes(total)}) to the Space {args.repo_id}...")
        address = upload(args.repo_id, files, token, api)
    except DeployError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"Done: {address}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
