"""What a hostile client sends: values for every kind of parameter, and what a reply must never hold.

tests/test_hostile.py sends these to every public endpoint of a running app.
"""
import base64
import io
import json
import os
import re
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Image files outside Gradio's upload cache that an attacker would like back, and files that are not images
SECRET_IMAGES = [ROOT / "weights" / "gan-fashion" / "samples.png", ROOT / "docs" / "screenshot.png"]
SECRET_FILES = ["/etc/passwd", "/proc/self/environ", str(ROOT / ".git" / "config"),
                str(ROOT / "weights" / "gan-fashion" / "model.safetensors")]
TRAVERSALS = ["../../../../etc/passwd", "/tmp/playground-gradio/../../etc/passwd", "~/.bashrc",
              "weights/gan-fashion/samples.png", "file:///etc/passwd", "http://169.254.169.254/latest/meta-data",
              "https://example.com/a.png", "\\\\server\\share\\a.png", "/dev/zero", "/proc/self/fd/0"]
# What a reply must not carry: exception text, handler names, Python and Gradio internals, server paths
LEAKS = re.compile(r"Traceback|File \"|site-packages|pydantic|gradio\.|\bfn_index\b|\bon_[a-z_]+\b|"
                   r"\b[A-Z][A-Za-z]*(Error|Exception)\b|validation error|blocked_paths|/work/|/home/|/root/|"
                   r"root:x:0:0|PATH=|HOME=" + "|" + re.escape(str(ROOT)))


def png_bytes(width, height, mode="L", depth=8, body=None):
    """A PNG written by hand, so that its header can claim any size (a decompression bomb compresses to
    a few KB: rows of zeros)."""
    colour = {"L": 0, "RGB": 2, "RGBA": 6, "LA": 4}[mode]
    channels = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[mode]

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    if body is None:
        row = b"\0" + b"\0" * (width * channels * depth // 8)
        compressor = zlib.compressobj(9)
        body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def pil_bytes(mode, size=(20, 16), fmt="PNG", **save):
    from PIL import Image
    buf = io.BytesIO()
    Image.new(mode, size, 128 if mode in ("L", "I;16", "I", "F", "1", "P") else None).save(buf, fmt, **save)
    return buf.getvalue()


def data_url(data, kind="png"):
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def odd_images():
    """(name, bytes): images a careless decoder gets wrong or pays too much for."""
    bomb = png_bytes(20_000, 20_000)  # 400 megapixels in about 400 KB
    wide = png_bytes(4096, 4, "RGB")
    return [("bomb", bomb), ("wide", wide), ("tall", png_bytes(4, 4096, "RGB")), ("one-pixel", png_bytes(1, 1)),
            ("truncated", pil_bytes("RGB", (64, 64))[:200]), ("garbage", b"not an image at all" * 20),
            ("empty", b""), ("cmyk-jpeg", pil_bytes("CMYK", fmt="JPEG")), ("16-bit", pil_bytes("I;16")),
            ("float", pil_bytes("F", fmt="TIFF")), ("bilevel", pil_bytes("1")), ("LA", pil_bytes("LA")),
            ("palette-alpha", pil_bytes("P", transparency=0)),
            ("gif-two-frames", _gif()), ("svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")]


UPLOADED = ("bomb", "truncated", "garbage", "empty", "svg", "16-bit")


def _gif():
    from PIL import Image
    buf = io.BytesIO()
    frames = [Image.new("P", (12, 12), i) for i in (1, 2)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def file_values(upload):
    """(name, value, must_fail) for an image parameter. `upload(bytes, name)` puts bytes into the app's upload
    cache and returns the server's path. must_fail: reading this would leak a file."""
    cases = []
    for target in [str(p) for p in SECRET_IMAGES] + SECRET_FILES + TRAVERSALS:
        cases.append((f"path {target}", {"path": target}, True))
        cases.append((f"path+meta {target}", {"path": target, "meta": {"_type": "gradio.FileData"}}, True))
    cases.append(("url to the metadata service", {"path": None, "url": "http://169.254.169.254/"}, True))
    cases.append(("url file://", {"url": "file:///etc/passwd", "meta": {"_type": "gradio.FileData"}}, True))
    cases.append(("path with a NUL", {"path": "/tmp/playground-gradio/a\x00.png"}, True))
    for name, data in odd_images():  # every odd image as a data URL; the unreadable ones as uploads too
        if data:
            cases.append((f"data URL {name}", {"path": None, "url": data_url(data)}, False))
        if name in UPLOADED:
            cases.append((f"upload {name}", {"path": upload(data, f"{name}.png"), "meta": {"_type": "gradio.FileData"}},
                          False))
    cases += [("data URL text/html", {"url": "data:text/html;base64,PHNjcmlwdD4="}, False),
              ("data URL bad base64", {"url": "data:image/png;base64,@@@@"}, False),
              ("a bare string", "/etc/passwd", True), ("a number", 5, False), ("a list", [1, 2], False),
              ("an empty dict", {}, False), ("path is a number", {"path": 5}, False)]
    return cases


def editor_values(upload):
    """(name, value, must_fail) for a sketchpad: Gradio's EditorData with hostile parts."""
    cases = []
    for name, value, must_fail in file_values(upload):
        if isinstance(value, dict) and (name.startswith("path") or name.startswith("data URL")):
            cases.append((f"composite {name}", {"background": None, "layers": [], "composite": value}, must_fail))
    huge = {"path": None, "url": data_url(png_bytes(9000, 9000, "RGBA"))}
    cases += [("composite 9000x9000", {"background": huge, "layers": [huge] * 3, "composite": huge}, False),
              ("blob id never sent", {"id": "never-sent"}, False), ("blob id a number", {"id": 5}, False),
              ("layers not a list", {"layers": "x", "composite": None}, False), ("a string", "drawing", False)]
    return cases


NUMBERS = [("NaN", float("nan")), ("inf", float("inf")), ("-inf", float("-inf")), ("1e308", 1e308),
           ("-1e308", -1e308), ("2**64", 2**64), ("10**400", 10**400), ("-1", -1), ("half", 0.5),
           ("off-step", 1.0000001), ("string number", "3"), ("word", "abc"), ("true", True), ("null", None),
           ("list", [1]), ("dict", {"value": 1})]
STRINGS = [("empty", ""), ("unknown", "no such choice"), ("long", "x" * 100_000),
           ("control characters", "\x00\x1b[2J\u202e\ud800"), ("traversal", "../../etc/passwd"), ("number", 12345),
           ("null", None), ("list", ["a"]), ("dict", {"a": 1}), ("true", True)]
BOOLEANS = [("string", "yes"), ("number", 2), ("null", None), ("list", []), ("NaN", float("nan"))]
LISTS = [("a string", "gan-fashion"), ("empty", []), ("unknown", ["nope"]), ("repeated", ["gan-fashion"] * 1000),
         ("null item", [None]), ("number", 5), ("nested", [["gan-fashion"]]), ("long item", ["x" * 100_000])]


def battery(component, upload):
    """(name, value, must_fail) for one parameter, by its component."""
    kind = component.lower()
    if kind == "image":
        return file_values(upload)
    if kind in ("imageeditor", "sketchpad"):
        return editor_values(upload)
    if kind in ("number", "slider"):
        return [(n, v, False) for n, v in NUMBERS]
    if kind == "checkbox":
        return [(n, v, False) for n, v in BOOLEANS]
    if kind == "checkboxgroup":
        return [(n, v, False) for n, v in LISTS]
    return [(n, v, False) for n, v in STRINGS]


def post(url, body, headers=None, timeout=60):
    """(status, text) of a POST, errors included."""
    request = urllib.request.Request(url, body, headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def get(url, timeout=60):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def call(base, api_name, data, timeout=300):
    """One sessionless call through /gradio_api/call: (event, message-or-payload text).

    event is 'complete', 'error', or 'http <status>' when the call was refused before it was queued."""
    status, text = post(f"{base}gradio_api/call/{api_name}", json.dumps({"data": data}).encode())
    if status != 200:
        return f"http {status}", text
    event_id = json.loads(text)["event_id"]
    status, text = get(f"{base}gradio_api/call/{api_name}/{event_id}", timeout)
    events = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    payloads = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    if not events:
        return f"http {status}", text
    event, payload = events[-1], payloads[-1] if payloads else ""
    if event == "error":
        message = json.loads(payload).get("error") if payload.strip().startswith("{") else payload
        return event, message
    return event, payload


def upload_file(base, data, name):
    """POST bytes to Gradio's upload route; the server path of the cached file."""
    boundary = "hostileboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, text = post(f"{base}gradio_api/upload", body,
                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200, (status, text)
    return json.loads(text)[0]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def home():
    return os.path.expanduser("~")
