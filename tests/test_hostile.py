"""The running app as a hostile client sees it: every public endpoint, every parameter, every bad value.

Endpoints and parameters come from the app's own API description, so a new endpoint is covered by being
added to app.PUBLIC_API. Each case changes one parameter of an otherwise cheap, valid call. Every reply must
be a valid result or one of the app's own sentences; no file outside the upload cache may be read; no reply
may carry exception text, handler names or server paths; and the server must still answer afterwards.
"""
import collections
import concurrent.futures
import json
import time

import pytest

import app
from tests import hostile_cases as hc
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.slow  # minutes: every endpoint x every hostile value against a running app

# Settings that keep a call that happens to be valid cheap (the API's defaults are the UI's first click).
CHEAP = {
    "compare": {"model_ids": ["gan-fashion"], "n": 20},
    "train_on_generated": {"model_id": "gan-fashion", "per_class": 10, "multiple": "1x"},
    "compare_samplers": {"samplers": ["DDIM"], "step_counts": [5]},
    "measure_samplers": {"samplers": ["DDIM"], "step_counts": [5]},
    "diffusion_generate": {"steps": 2, "side": 1},
    "diffusion_two_settings": {"first": 2, "second": 1},
    "diffusion_edit": {"s": 0.05},
    "pixelcnn_sample": {"side": 1},
    "pixelcnn_complete": {"k": 1, "hidden": 1},
    "pixelcnn_two_settings": {"first": 1.0, "second": 0.9},
    "style_optimise": {"iters": 1, "res": 128},
    "style_compare": {"iters": 1, "res": 128, "a": "Reinhard colour transfer"},
    "style_fast": {"res": 128}, "style_baseline": {"res": 128}, "style_grams": {"res": 128},
    "generate": {"side_value": 1}, "sample": {"side": 1}, "walk": {"n": 2}, "interpolate": {"steps": 2},
    "data_sample": {"side": 1},
    "denoise": {"photo": "my upload"},  # the 24x20 upload below rather than a 512x512 photo
}
TINY_PNG = {"path": None, "url": hc.data_url(hc.pil_bytes("RGB", (24, 20)))}
Result = collections.namedtuple("Result", "api param case value_kind must_fail event text seconds")


def endpoints(base):
    status, text = hc.get(f"{base}gradio_api/info")
    assert status == 200
    return {name.lstrip("/"): info["parameters"] for name, info in json.loads(text)["named_endpoints"].items()}


def baseline(api, params):
    args = []
    for p in params:
        value = p.get("parameter_default") if p.get("parameter_has_default") else None
        if p["component"].lower() == "image" and not value:
            value = TINY_PNG if p["parameter_name"] in ("image", "src", "cu") else None
        args.append(CHEAP.get(api, {}).get(p["parameter_name"], value))
    return args


def test_public_api_is_exactly_the_chosen_names(app_process):
    _, base = app_process
    assert sorted(endpoints(base)) == sorted(app.PUBLIC_API)
    for api, overrides in CHEAP.items():  # a renamed parameter must not leave its cheap setting behind
        names = {p["parameter_name"] for p in endpoints(base)[api]}
        assert set(overrides) <= names, (api, set(overrides) - names)


def _judge(result):
    """What is wrong with one reply, or None."""
    if result.event not in ("complete", "error"):
        return f"reply {result.event!r}: {result.text[:200]!r}"
    if result.event == "error":
        if not isinstance(result.text, str) or len(result.text) < 10:
            return f"an error without the app's sentence: {result.text!r}"
        if hc.LEAKS.search(result.text) or hc.home() in result.text:
            return f"leaks internals: {result.text[:300]!r}"
        return None
    if result.must_fail:
        return f"a file outside the upload cache was read: {result.text[:200]!r}"
    leak = hc.LEAKS.search(result.text.replace("/tmp/playground-gradio/", ""))
    if leak and leak.group(0) not in ("gradio.", "File \""):  # outputs are gradio.FileData records
        return f"a result carries {leak.group(0)!r}: {result.text[:300]!r}"
    return None


def _cases(base, apis):
    """Every (api, args, param, case, kind, must_fail) of the battery."""
    uploaded = {}

    def upload(data, name):
        if name not in uploaded:
            uploaded[name] = hc.upload_file(base, data, name) if data else hc.upload_file(base, b"", name)
        return uploaded[name]
    cases = []
    for api, params in sorted(apis.items()):
        args = baseline(api, params)
        cases.append((api, list(args), "-", "baseline", "-", False))
        for i, p in enumerate(params):
            for name, value, must_fail in hc.battery(p["component"], upload):
                hostile = list(args)
                hostile[i] = value
                cases.append((api, hostile, p["parameter_name"], name, p["component"], must_fail))
    return cases


def test_every_endpoint_answers_every_hostile_value_with_a_result_or_a_clear_message(app_process):
    proc, base = app_process
    cases = _cases(base, endpoints(base))

    def run(case):
        api, args, param, name, kind, must_fail = case
        start = time.monotonic()
        event, text = hc.call(base, api, args)
        return Result(api, param, name, kind, must_fail, event, text, time.monotonic() - start)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(run, cases))
    problems = [(r.api, r.param, r.case, _judge(r)) for r in results if _judge(r)]
    baselines = {r.api: r.event for r in results if r.case == "baseline"}
    summary = {
        "cases": len(results), "valid results": sum(r.event == "complete" for r in results),
        "clear errors": sum(r.event == "error" and not _judge(r) for r in results), "problems": len(problems),
        "endpoints": len(baselines), "reads outside uploads": sum(r.must_fail and r.event == "complete" for r in results),
        "path cases": sum(r.must_fail for r in results), "seconds": round(time.monotonic() - started, 1),
        "slowest": sorted(((round(r.seconds, 1), r.api, r.param, r.case) for r in results), reverse=True)[:5],
        "seconds per endpoint (summed over 3 clients)": dict(sorted(
            ((api, round(sum(r.seconds for r in results if r.api == api))) for api in baselines),
            key=lambda kv: -kv[1])),
        "messages": collections.Counter(r.text for r in results if r.event == "error").most_common(40),
    }
    (ARTIFACTS / "hostile-summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "messages"}))
    assert not problems, problems[:25]
    assert summary["reads outside uploads"] == 0
    status, _ = hc.get(f"{base}gradio_api/info")
    assert status == 200 and proc.poll() is None
    assert hc.call(base, "data_sample", ["Fashion-MNIST", 2, 1])[0] == "complete"


@pytest.mark.parametrize("api", ["denoise"])
def test_one_endpoint_answers_every_hostile_value(app_process, api):
    """The battery above for one endpoint alone (`-k denoise`): a quick check for a new endpoint."""
    _, base = app_process
    results = []
    for api_name, args, param, name, kind, must_fail in _cases(base, {api: endpoints(base)[api]}):
        event, text = hc.call(base, api_name, args)
        results.append(Result(api_name, param, name, kind, must_fail, event, text, 0.0))
    problems = [(r.param, r.case, _judge(r)) for r in results if _judge(r)]
    assert not problems, problems[:25]
    assert len(results) > 3 * len(endpoints(base)[api])  # every parameter got its battery
    assert next(r for r in results if r.case == "baseline").event == "complete"


def test_every_refused_path_gets_the_same_sentence_whether_or_not_it_exists(app_process):
    _, base = app_process
    replies = {hc.call(base, "inspect_upload", [{"path": p, "meta": {"_type": "gradio.FileData"}}])
               for p in ["/etc/passwd", "/no/such/file.png", str(hc.SECRET_IMAGES[0]), "/tmp/playground-gradio/x.png"]}
    assert len(replies) == 1 and next(iter(replies))[0] == "error", replies


@pytest.mark.parametrize("path", ["weights/gan-fashion/model.safetensors", "app.py", "../../etc/passwd",
                                  ".git/config", "/etc/passwd", "%2e%2e/%2e%2e/etc/passwd"])
def test_file_routes_refuse_server_files_in_the_apps_words(app_process, path):
    _, base = app_process
    status, text = hc.get(f"{base}gradio_api/file={path}")
    assert status in (403, 404) and not hc.LEAKS.search(text) and hc.home() not in text, (status, text)


def _blob_request(base, index, data, fn_name="accept_blobs"):
    boundary = "blobboundary"
    fields = {"session_hash": "hostile", "component_id": "1", "fn_name": fn_name, "id": "x", "type": "layer",
              "index": str(index)}
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                    for k, v in fields.items())
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"layer.png\"\r\n"
             f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return hc.post(f"{base}gradio_api/component_server", body,
                   {"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.parametrize("index, size, fn_name, refused", [
    (20_000_000, 100, "accept_blobs", 400), (-1, 100, "accept_blobs", 400), (2, 2 * 1024**2, "accept_blobs", 413),
    (0, 100, "ls", 400)])
def test_the_sketchpad_blob_route_is_guarded(app_process, index, size, fn_name, refused):
    proc, base = app_process
    before = hc.rss_mb(proc.pid)
    status, text = _blob_request(base, index, b"\0" * size, fn_name)
    assert status == refused and not hc.LEAKS.search(text), (status, text)
    assert hc.rss_mb(proc.pid) - before < 50


def test_oversized_and_malformed_requests_get_the_apps_sentence(app_process):
    _, base = app_process
    checks = [hc.post(f"{base}gradio_api/queue/join", b"{not json"),
              hc.post(f"{base}gradio_api/queue/join", json.dumps({"data": [], "fn_index": 10**9}).encode()),
              hc.post(f"{base}gradio_api/call/no_such_endpoint", b'{"data": []}'),
              hc.post(f"{base}gradio_api/call/data_sample", b"[" * 100_000),
              hc.post(f"{base}gradio_api/call/data_sample", b" " * (33 * 1024**2))]
    for status, text in checks:
        assert status >= 400 and not hc.LEAKS.search(text), (status, text)
        assert json.loads(text)["detail"] in app_sentences(), text
    assert hc.call(base, "data_sample", ["Fashion-MNIST", 2, 1])[0] == "complete"


def app_sentences():
    from tabs import guard
    return set(guard.SENTENCES.values()) | {guard.SERVER_ERROR}
