"""The app over HTTP, as an API client sees it (launched on 127.0.0.1, driven with gradio_client)."""
import json
import urllib.request

import pytest
from gradio_client.exceptions import AppError

from playground.cards import list_cards

CARD_IDS = sorted(c.id for c in list_cards())


def status(client):
    rows, _memory = client.predict(api_name="/models_status")
    return {r[0]: r for r in rows["data"]}


def test_binds_loopback_and_starts_with_nothing_loaded(app_url, client):
    assert app_url.startswith("http://127.0.0.1:")
    rows = status(client)
    assert sorted(rows) == CARD_IDS
    assert all(r[8] == "no" for r in rows.values())


def test_load_and_unload_a_model(client):
    model_id = CARD_IDS[0]
    table, memory, card = client.predict(model_id, api_name="/load_model")
    row = {r[0]: r for r in table["data"]}[model_id]
    assert row[8] == "yes" and row[9] == "cpu" and float(row[10]) > 0
    assert "Memory in use" in memory and model_id in card
    table, _, _ = client.predict(model_id, api_name="/unload_model")
    assert {r[0]: r for r in table["data"]}[model_id][8] == "no"


def test_bad_input_gets_a_clear_message_and_the_server_keeps_serving(client):
    with pytest.raises(AppError) as info:
        client.predict("../../etc/passwd", api_name="/load_model")
    message = str(info.value)
    assert "Traceback" not in message and ("not in the list" in message or "Model must be one of" in message)
    assert sorted(status(client)) == CARD_IDS


def test_weights_and_repo_files_are_not_served(app_url):
    for path in ("gradio_api/file=weights/", "gradio_api/file=app.py", "gradio_api/file=../../etc/passwd"):
        for card in CARD_IDS[:1]:
            url = app_url + path + (f"{card}/model.safetensors" if path.endswith("weights/") else "")
            with pytest.raises(urllib.request.HTTPError) as info:
                urllib.request.urlopen(url, timeout=10)
            assert info.value.code in (403, 404)


def test_no_analytics_and_api_info_available(app_url):
    with urllib.request.urlopen(app_url + "gradio_api/info", timeout=10) as r:
        info = json.load(r)
    assert "/load_model" in info["named_endpoints"]
