"""The load test itself, small: a few concurrent clients against a fresh app, nothing but completions."""
from playground.load import measure_load


def test_a_short_load_test_completes_every_call_and_the_app_keeps_serving():
    r = measure_load(clients=4, seconds=5)
    assert r["calls"] >= 4 and r["errors"] == 0, r["error_examples"]
    assert r["ok"] + r["queue_full"] == r["calls"] and r["ok"] > 0
    assert r["still_serving"] and r["within_budget"] and r["p95_s"] >= r["p50_s"] > 0
