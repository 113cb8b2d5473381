"""The evaluate and bench commands: numbers come from code and land in cards and the README."""
import json
import sys
import types

import pytest
import torch

from playground import bench, evaluate, registry
from playground.cards import parse_card, write_section
from tests.unit.test_registry import Tiny, make_model


@pytest.fixture
def family(monkeypatch):
    module = types.ModuleType("playground.families.evaltest")
    module.build = lambda config: Tiny(config["width"])
    module.default_action = lambda model, seed: model(torch.ones(1, model.lin.in_features) * seed)
    module.evaluate = lambda model, card, quick=False: {"weight_sum": float(model.lin.weight.sum()),
                                                       "quick": int(quick)}

    def report(model, card, metrics, folder):
        (folder / "figure.txt").write_text("made")
        return f"Weight sum {metrics['weight_sum']:.3f}."
    module.report = report
    monkeypatch.setitem(sys.modules, "playground.families.evaltest", module)


def test_evaluate_writes_measured_metrics_into_the_card(tmp_path, family):
    model = make_model(tmp_path, "tiny-a")
    path = tmp_path / "model_cards" / "tiny-a.md"
    path.write_text(path.read_text().replace("family: tinytest", "family: evaltest"))
    reg = registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path)
    metrics, seconds = evaluate.evaluate("tiny-a", reg=reg)
    assert metrics["weight_sum"] == pytest.approx(float(model.lin.weight.detach().sum())) and seconds >= 0
    from playground.cards import write_metrics
    write_metrics(path, metrics)
    assert parse_card(path).metrics["weight_sum"] == pytest.approx(metrics["weight_sum"], abs=1e-6)


def test_readme_sections_are_rewritten_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- x:start -->\nold\n<!-- x:end -->\noutro\n")
    write_section(readme, "<!-- x:start -->", "<!-- x:end -->", "new table")
    assert readme.read_text() == "intro\n<!-- x:start -->\nnew table\n<!-- x:end -->\noutro\n"
    with pytest.raises(SystemExit):
        write_section(readme, "<!-- y:start -->", "<!-- y:end -->", "t")


def test_models_table_lists_every_card_with_its_reproduction_command(tmp_path):
    make_model(tmp_path, "tiny-a")
    from playground.cards import list_cards
    text = evaluate.models_markdown(list_cards(tmp_path / "model_cards"))
    assert "[tiny-a](model_cards/tiny-a.md)" in text and "score 1.5" in text


def test_bench_measures_one_model(tmp_path, family):
    make_model(tmp_path, "tiny-a")
    path = tmp_path / "model_cards" / "tiny-a.md"
    path.write_text(path.read_text().replace("family: tinytest", "family: evaltest"))
    reg = registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path)
    row = bench.measure_one("tiny-a", 5, reg=reg)
    assert row["id"] == "tiny-a" and row["runs"] == 5 and row["p95_ms"] >= row["p50_ms"] >= 0
    assert row["peak_rss_mb"] > 10
    text = bench.markdown({"quick": True, "machine": bench.machine(1), "models": [row],
                           "app": {"startup_s": 4.2, "call": "/x", "api_p50_ms": 9.0, "direct_p50_ms": 1.0,
                                   "api_over_direct": 9.0},
                           "cross": {"Fashion-MNIST": {"n": 20, "seed": 0, "rows": [{"model": "tiny-a", "FD": 1.5}]}},
                           "load": {"clients": 30, "seconds": 60, "actions": ["x"], "calls": 9, "ok": 8, "queue_full": 1,
                                    "errors": 0, "p50_s": 1.0, "p95_s": 2.0, "peak_rss_mb": 900, "budget_mb": 1024,
                                    "within_budget": True, "still_serving": True, "skipped": ["style_fast"]}},
                         {"tiny-a": {"weight_sum": 1.5}})
    assert "**evaltest**" in text and "| tiny-a | " in text and "weight_sum 1.5 |" in text and "4.2 s" in text
    assert "| tiny-a |  | 1.5 |" in text and "1 refused as queue full, 0 other errors" in text and json.dumps(row)
    assert "(x; skipped, model not installed: style_fast)" in text and "last call" not in text
    assert "FD is FD-Fashion (our features, not FID): the Frechet distance on features-fashion's features." in text


def test_the_measured_section_is_written_and_rewritten(tmp_path, family):
    make_model(tmp_path, "tiny-a")
    path = tmp_path / "model_cards" / "tiny-a.md"
    path.write_text(path.read_text().replace("family: tinytest", "family: evaltest"))
    reg = registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path)
    evaluate.write_report("tiny-a", {"weight_sum": 1.0}, reg)
    evaluate.write_report("tiny-a", {"weight_sum": 2.0}, reg)
    text = path.read_text()
    assert text.count("## Measured") == 1 and "Weight sum 2.000." in text and "1.000" not in text
    assert (tmp_path / "weights" / "tiny-a" / "figure.txt").read_text() == "made"
    assert parse_card(path).body.startswith("Prose about tiny-a")


def test_bench_times_a_tabs_cases(monkeypatch):
    module = types.ModuleType("playground.actions.benchtest")
    calls = []
    def slow(i):
        calls.append(("slow", i))
    slow.max_runs = 1
    def cold(i):
        calls.append(("cold", i))
    cold.max_runs, cold.warm_up = 2, False
    module.bench_cases = lambda: {"double": lambda i: calls.append(i) or 2 * i, "slow": slow, "cold": cold}
    monkeypatch.setitem(sys.modules, "playground.actions.benchtest", module)
    rows = bench.measure_cases("benchtest", 3)
    assert calls == [0, 1, 2, 3, ("slow", 0), ("slow", 1), ("cold", 1), ("cold", 2)] and rows[0]["case"] == "double"
    assert rows[0]["p95_ms"] >= rows[0]["p50_ms"] >= 0 and [r["runs"] for r in rows] == [3, 1, 2]
    text = bench.markdown({"quick": True, "machine": bench.machine(1), "models": [], "cases": rows})
    assert "| double |" in text


def test_report_only_redraws_from_the_cards_metrics(tmp_path, family, monkeypatch):
    make_model(tmp_path, "tiny-a")
    path = tmp_path / "model_cards" / "tiny-a.md"
    path.write_text(path.read_text().replace("family: tinytest", "family: evaltest"))
    from playground.cards import write_metrics
    write_metrics(path, {"weight_sum": 1.5})
    monkeypatch.setattr(registry, "_default", registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path))
    before = parse_card(path).metrics
    assert evaluate.main(["tiny-a", "--report-only"]) == 0
    assert "Weight sum 1.500." in path.read_text() and parse_card(path).metrics == before == {"weight_sum": 1.5}


def test_a_rerun_reports_the_largest_change_of_a_quality_figure():
    """--against compares the cross-family quality figures of two bench results, row by row and column by column,
    and ignores timings, text cells and rows only one side has."""
    def result(fd, precision, seconds, extra=()):
        rows = [{"model": "vae-fashion", "FD": fd, "precision": precision, "bits/dim (card)": "",
                 "seconds per image": seconds}] + list(extra)
        return {"cross": {"Fashion-MNIST": {"rows": rows}}}
    same = bench.rerun_change(result(10.0, 0.5, 1.0), result(10.0, 0.5, 9.0))
    assert same == {"compared": 2, "max_change": 0.0, "where": "Fashion-MNIST / vae-fashion / FD"}
    changed = bench.rerun_change(result(10.0, 0.5, 1.0), result(10.1, 0.53, 1.0, [{"model": "new", "FD": 1.0}]))
    assert changed["compared"] == 2 and changed["max_change"] == pytest.approx(0.06)
    assert changed["where"] == "Fashion-MNIST / vae-fashion / precision"
    line = bench.markdown({"quick": True, "models": [], "machine": {"platform": "p", "cpus": 2, "threads": 2,
                           "device": "cpu", "versions": {}}, "rerun": dict(changed, against="bench.json")})
    assert "largest relative change is 6.00% (Fashion-MNIST / vae-fashion / precision)" in line


def test_an_earlier_bench_is_rendered_again_with_the_cards_metrics_as_they_are_now(tmp_path):
    """--from measures nothing: the saved timings stay, the card-metrics column is read from the cards again."""
    card = registry.Registry().card("style-fast-brick")
    row = {"id": "style-fast-brick", "family": "style", "action": "x", "load_s": 0.1, "p50_ms": 12.5, "p95_ms": 13.0,
           "peak_rss_mb": 250}
    saved = tmp_path / "bench.json"
    saved.write_text(json.dumps({"quick": False, "machine": bench.machine(2), "models": [row]}))
    readme = tmp_path / "README.md"
    readme.write_text(f"top\n{bench.START}\nold\n{bench.END}\nend\n")
    assert bench.main(["--from", str(saved), "--readme", str(readme)]) == 0
    key, value = next(iter(card.metrics.items()))
    text = readme.read_text()
    assert "\nold\n" not in text and text.startswith("top\n") and text.endswith("end\n")
    assert f"| style-fast-brick | x | 0.1 | 12.5 | 13.0 | 250 | {key} {value:.4g}" in text


def test_refresh_cross_replaces_only_the_cross_tables_and_says_when(tmp_path, monkeypatch):
    """--refresh-cross (after a retrain): the tables are measured again, timings and the rest stay as they were."""
    row = {"id": "style-fast-brick", "family": "style", "action": "x", "load_s": 0.1, "p50_ms": 12.5, "p95_ms": 13.0,
           "peak_rss_mb": 250}
    saved = tmp_path / "bench.json"
    saved.write_text(json.dumps({"quick": False, "machine": bench.machine(2), "models": [row],
                                 "cross": {"Fashion-MNIST": {"n": 9, "seed": 0, "rows": [{"model": "old", "FD": 9.0}]}},
                                 "rerun": {"compared": 1, "max_change": 0.5, "where": "x", "against": "a.json"}}))
    fresh = {"Fashion-MNIST": {"n": 1000, "seed": 0, "rows": [{"model": "ddpm-fashion", "FD": 1.25}]}}
    monkeypatch.setattr(bench, "measure_every_cross", lambda threads, quick: fresh)
    readme = tmp_path / "README.md"
    readme.write_text(f"top\n{bench.START}\nold\n{bench.END}\nend\n")
    assert bench.main(["--refresh-cross", str(saved), "--readme", str(readme)]) == 0
    result = json.loads(saved.read_text())
    assert result["models"] == [row] and result["cross"]["Fashion-MNIST"]["rows"] == [{"model": "ddpm-fashion",
                                                                                        "FD": 1.25}]
    text = readme.read_text()
    assert "| old |" not in text and "| ddpm-fashion | " in text and "by `--refresh-cross`" in text
    assert "| style-fast-brick | x | 0.1 | 12.5 |" in text and "rerun" not in result and "Rerun:" not in text
