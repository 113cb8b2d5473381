"""The import contracts in .importlinter hold: playground's layers, tabs through playground.actions only,
no gradio in playground, no import cycles. import-linter (requirements-dev.txt) checks them."""
import os
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def test_import_contracts_hold():
    out = subprocess.run([sys.executable, "-c", LINT, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120"), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 4 kept, 0 broken." in out.stdout, out.stdout


def test_imports_inside_functions_count(tmp_path, monkeypatch):
    """The graph the contracts are checked on holds imports made inside functions (grimp reads every import
    statement), so a cycle cannot hide behind one."""
    package = tmp_path / "layerprobe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from . import high\n    return high\n")
    (package / "high.py").write_text("from . import low\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("layerprobe", cache_dir=None)
    assert graph.direct_import_exists(importer="layerprobe.low", imported="layerprobe.high")
    assert graph.nominate_cycle_breakers("layerprobe")
