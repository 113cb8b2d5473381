"""Small files and short UI functions (issue 24): no file in playground/ over 450 lines; tabs are UI, each
view its own short function, none over 80 lines (text formatting and chains of actions belong in
playground/actions/<tab>.py)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABS = ROOT / "tabs"
MAX_LINES = 80
MAX_FILE_LINES = 450


def function_lengths(folder=TABS):
    """{"file.py:name (line)": lines} for every function (nested ones too) in folder/*.py."""
    lengths = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lengths[f"{path.name}:{node.name} (line {node.lineno})"] = node.end_lineno - node.lineno + 1
    return lengths


def test_no_function_in_tabs_is_over_80_lines():
    lengths = function_lengths()
    assert lengths, f"no functions found in {TABS}"
    long = {name: n for name, n in lengths.items() if n > MAX_LINES}
    assert not long, (f"functions in tabs/ over {MAX_LINES} lines: {long}. Split the tab into one function per view; "
                      "move text formatting and chained actions to playground/actions/<tab>.py.")


def test_the_count_sees_a_long_function(tmp_path):
    (tmp_path / "tab.py").write_text("def build():\n" + "    x = 1\n" * MAX_LINES + "\n\ndef short():\n    pass\n")
    lengths = function_lengths(tmp_path)
    assert lengths == {"tab.py:build (line 1)": MAX_LINES + 1, "tab.py:short (line 84)": 2}


def test_no_file_in_the_library_is_over_450_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / "playground").rglob("*.py")}
    assert len(sizes) > 40
    long = {name: n for name, n in sizes.items() if n > MAX_FILE_LINES}
    assert not long, f"files in playground/ over {MAX_FILE_LINES} lines: {long}; split them by what they do."
