"""The load test itself, small: a few concurrent clients against a fresh app, nothing but completions."""
import pytest

from playground import load
from playground.load import measure_load


def test_calls_whose_model_is_missing_are_skipped_and_uploads_are_data_urls():
    names = [name for name, _ in load.available_calls(set())]
    assert names == ["data_sample", "models_status", "superres_upscale"]  # they need no model card
    every = [name for name, _, _ in load.CALLS]
    assert [name for name, _ in load.available_calls({m for _, _, m in load.CALLS})] == every
    assert {"style_fast", "superres_upscale"} <= set(every)
    payload = load.upload_payload()
    assert payload["url"].startswith("data:image/png;base64,") and payload["meta"] == {"_type": "gradio.FileData"}
    from playground.images import normalize_image
    assert normalize_image(payload["url"]).shape == (48, 64, 3)


@pytest.mark.slow
def test_a_short_load_test_completes_every_call_and_the_app_keeps_serving():
    r = measure_load(clients=4, seconds=5)
    assert r["calls"] >= 4 and r["errors"] == 0, r["error_examples"]
    assert r["ok"] + r["queue_full"] == r["calls"] and r["ok"] > 0
    assert r["still_serving"] and r["within_budget"] and r["p95_s"] >= r["p50_s"] > 0
    # fewer clients than calls: the run goes on until every call was made once, the uploads included
    assert r["actions"] == sorted(r["by_action"]) and all(c["calls"] >= 1 for c in r["by_action"].values())
    assert "superres_upscale" in r["actions"] and not set(r["skipped"]) & set(r["actions"])
    for name in {"style_fast", "superres_upscale"} & set(r["actions"]):
        assert r["by_action"][name]["ok"] >= 1 and r["by_action"][name]["errors"] == 0, r["by_action"]
