"""The Data tab's "Was this made here?" check through the app's API (the running app, gradio_client)."""
import io

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from playground import data, watermark
from playground import watermark_bench as bench


def _file(tmp_path, name, pixels, fmt="PNG", **save):
    path = tmp_path / name
    Image.fromarray(pixels).save(path, fmt, **save)
    return handle_file(str(path))


def _photo():
    return np.asarray(data.load_natural(sorted(data.natural_images())[0], "RGB"))


def test_a_marked_picture_is_found_after_jpeg_and_halving(client, tmp_path):
    shared = bench.scaled(watermark.mark(_photo()), 0.5)
    verdict = client.predict(_file(tmp_path, "shared.jpg", shared, "JPEG", quality=75), api_name="/watermark_check")
    assert verdict.startswith("**Mark found") and "threshold 6" in verdict


def test_an_unmarked_picture_is_not_found(client, tmp_path):
    verdict = client.predict(_file(tmp_path, "real.png", _photo()), api_name="/watermark_check")
    assert verdict.startswith("**No mark found") and "Score" in verdict


def test_a_grey_marked_grid_is_found(client, tmp_path):
    images, _ = data.fashion_gallery()
    grid = watermark.mark(np.kron(images[:4].transpose(1, 0, 2).reshape(28, 112), np.ones((4, 4), np.uint8)))
    verdict = client.predict(_file(tmp_path, "grid.png", grid), api_name="/watermark_check")
    assert verdict.startswith("**Mark found")


@pytest.mark.parametrize("pixels, words", [(np.zeros((4, 4, 3), np.uint8), "8x8"), (None, "not an image")])
def test_bad_uploads_get_clear_messages(client, tmp_path, pixels, words):
    path = tmp_path / "bad.png"
    if pixels is None:
        path.write_bytes(b"not a picture at all" * 5)
    else:
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "PNG")
        path.write_bytes(buf.getvalue())
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(path)), api_name="/watermark_check")
    assert words in str(info.value) and "Traceback" not in str(info.value)


def test_the_view_shows_the_measured_table_and_what_a_mark_cannot_prove():
    import tabs.data
    config = tabs.data.build().get_config_file()
    props = [c.get("props", {}) for c in config["components"]]
    text = " ".join(str(p.get("value", "")) for p in props)
    assert "What a watermark cannot prove" in text and "python -m playground.bench --watermark" in text
    tables = [p["value"] for p in props if isinstance(p.get("value"), dict) and "headers" in p["value"]]
    assert any(len(t["data"]) == len(bench.CHANGES) + 1 for t in tables)
    assert any(p.get("label") == "Was this made here? (invisible watermark)" for p in props)
