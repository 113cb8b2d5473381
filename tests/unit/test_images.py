"""playground.images: normalize_image over every source, mode, orientation and kind of damage, and the helpers."""
import base64
import io
import struct
import threading
import time
import warnings
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from playground import images
from playground.errors import InputError
from playground.images import make_grid, normalize_image, resize, save_gif, to_tensor, to_uint8

torch.set_num_threads(1)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
OUR_MESSAGES = ("No image was given", "The image is empty", "The image file", "This file is not an image",
                "This image", "An image", "The image data URL", "Images ", "Image pixels", "The image contains")


def encode(im, fmt="PNG", **kwargs):
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def data_url(raw, kind="png"):
    return f"data:image/{kind};base64," + base64.b64encode(raw).decode()


def png_header(width, height, idat=b"not really zlib"):
    """A tiny PNG whose header claims width x height: enough for Image.open, useless to decode."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def luma(rgb):
    r, g, b = (rgb[..., i].astype(float) for i in range(3))
    return r * 0.299 + g * 0.587 + b * 0.114


def over(color, alpha, bg):
    """Straight-alpha colour (..., 3) composited on bg."""
    a = alpha[..., None].astype(float) / 255
    return color.astype(float) * a + np.asarray(bg, float) * (1 - a)


def check_output(out, h, w, mode="RGB"):
    assert out.shape == (h, w, 3 if mode == "RGB" else 1)
    assert out.dtype == np.uint8 and out.flags.c_contiguous and out.flags.writeable


# ---- every PIL mode, against an oracle written with numpy ------------------------------------------------------------

def make_mode(mode, rng, w, h, bg):
    """(PIL image, expected RGB floats, tolerance, file format that keeps the mode or None)."""
    u8 = lambda *shape: rng.integers(0, 256, (h, w, *shape), dtype=np.uint8)  # noqa: E731
    if mode == "1":
        bits = rng.random((h, w)) < 0.5
        return Image.fromarray(bits), np.repeat(bits[..., None] * 255.0, 3, 2), 0, "PNG"
    if mode == "L":
        grey = u8()
        return Image.fromarray(grey), np.repeat(grey[..., None], 3, 2), 0, "PNG"
    if mode in ("LA", "La"):
        grey, alpha = u8(), u8()
        expected = over(np.repeat(grey[..., None], 3, 2), alpha, bg)
        if mode == "LA":
            return Image.fromarray(np.stack([grey, alpha], -1)), expected, 1, "PNG"
        premultiplied = np.rint(grey * (alpha / 255.0)).astype(np.uint8)  # PIL cannot even save La
        return Image.frombytes("La", (w, h), np.stack([premultiplied, alpha], -1).tobytes()), expected, 2, None
    if mode in ("P", "P+t", "PA"):
        palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
        index = rng.integers(0, 16, (h, w), dtype=np.uint8)
        expected = palette[index].astype(float)
        if mode == "PA":
            alpha = u8()
            im = Image.frombytes("PA", (w, h), np.stack([index, alpha], -1).tobytes())
            im.putpalette(palette.tobytes())
            return im, over(palette[index], alpha, bg), 1, "TIFF"
        im = Image.fromarray(index)
        im.putpalette(palette.tobytes())
        if mode == "P+t":
            im.info["transparency"] = 3
            expected[index == 3] = bg
        return im, expected, 0, "PNG"
    if mode == "RGB":
        rgb = u8(3)
        return Image.fromarray(rgb), rgb.astype(float), 0, "PNG"
    if mode == "RGBA":
        rgba = u8(4)
        return Image.fromarray(rgba), over(rgba[..., :3], rgba[..., 3], bg), 1, "PNG"
    if mode == "CMYK":
        cmyk = u8(4).astype(float)
        expected = (255 - cmyk[..., :3]) * (255 - cmyk[..., 3:]) / 255
        return Image.frombytes("CMYK", (w, h), cmyk.astype(np.uint8).tobytes()), expected, 1, "TIFF"
    if mode == "YCbCr":
        ycc = u8(3)
        y, cb, cr = np.moveaxis(ycc.astype(float) - (0, 128, 128), -1, 0)
        expected = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1).clip(0, 255)
        return Image.frombytes("YCbCr", (w, h), ycc.tobytes()), expected, 1.5, None  # PIL writes broken YCbCr TIFFs
    if mode in ("I", "I;16", "I;16B"):
        v = rng.integers(0, 65536, (h, w))
        expected = np.repeat((v / 257.0)[..., None], 3, 2)
        if mode == "I":
            return Image.fromarray(v.astype(np.int32)), expected, 1, "TIFF"
        if mode == "I;16":
            return Image.fromarray(v.astype(np.uint16)), expected, 1, "PNG"
        return Image.frombytes("I;16B", (w, h), v.astype(">u2").tobytes()), expected, 1, "TIFF"
    if mode == "F":
        v = (rng.random((h, w)) if rng.random() < 0.5 else rng.uniform(-20, 300, (h, w))).astype(np.float32)
        scaled = v * 255.0 if v.min() >= 0 and v.max() <= 1 else np.clip(v, 0, 255)
        return Image.fromarray(v), np.repeat(scaled[..., None], 3, 2), 0.5, "TIFF"
    raise AssertionError(mode)


MODES = ["1", "L", "LA", "La", "P", "P+t", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B", "F"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("images")


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=st.integers(1, 64), h=st.integers(1, 64), seed=st.integers(0, 2**32 - 1),
       via=st.sampled_from(["pil", "bytes", "path", "fileobj", "data_url"]),
       bg=st.tuples(*[st.integers(0, 255)] * 3))
def test_every_mode_matches_its_oracle(folder, mode, w, h, seed, via, bg):
    im, expected, tol, fmt = make_mode(mode, np.random.default_rng(seed), w, h, bg)
    if via != "pil" and fmt is not None:
        raw = encode(im, fmt, **({"transparency": 3} if mode == "P+t" else {}))
        src = {"bytes": raw, "fileobj": io.BytesIO(raw), "data_url": data_url(raw)}.get(via)
        if via == "path":
            src = folder / f"{mode.replace(';', '_').replace('+', '_')}.{fmt.lower()}"
            src.write_bytes(raw)
    else:
        src = im
    rgb = normalize_image(src, background=bg)
    check_output(rgb, h, w)
    assert np.abs(rgb - expected).max() <= tol + 0.5, mode
    if via == "fileobj":
        src.seek(0)
    grey = normalize_image(src, mode="L", background=bg)
    check_output(grey, h, w, "L")
    assert np.abs(grey[..., 0] - luma(expected)).max() <= tol + 1.5, mode


# ---- EXIF orientation -------------------------------------------------------------------------------------------------

# Where the stored top-left pixel ends up once the image is shown upright, for each EXIF orientation.
CORNER = {1: "tl", 2: "tr", 3: "br", 4: "bl", 5: "tl", 6: "tr", 7: "br", 8: "bl"}
UPRIGHT = {1: lambda a: a, 2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud,
           5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
           7: lambda a: np.rot90(a, 2).transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}
OPPOSITE = {"tl": "br", "br": "tl", "tr": "bl", "bl": "tr"}


def corner(a, name):
    return a[0 if name[0] == "t" else -1, 0 if name[1] == "l" else -1]


def with_orientation(im, orientation, fmt, **kwargs):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, fmt, exif=exif, **kwargs)


@FAST
@given(orientation=st.integers(1, 8), w=st.integers(1, 64), h=st.integers(1, 64), seed=st.integers(0, 2**32 - 1))
def test_exif_orientation_png_exact(orientation, w, h, seed):
    stored = np.random.default_rng(seed).integers(0, 250, (h, w, 3), dtype=np.uint8)
    stored[0, 0] = (255, 0, 255)  # the marked corner
    out = normalize_image(with_orientation(Image.fromarray(stored), orientation, "PNG"))
    upright = UPRIGHT[orientation](stored)
    check_output(out, *upright.shape[:2])
    assert out.shape[:2] == ((h, w) if orientation <= 4 else (w, h))
    assert np.array_equal(out, upright)
    assert tuple(corner(out, CORNER[orientation])) == (255, 0, 255)


@settings(max_examples=40, deadline=None)
@given(orientation=st.integers(1, 8), w=st.integers(16, 64), h=st.integers(16, 64))
def test_exif_orientation_jpeg(orientation, w, h):
    stored = np.zeros((h, w, 3), np.uint8)
    stored[...] = (0, 0, 255)
    stored[:h // 2, :w // 2] = (255, 0, 0)  # a red top-left block on blue
    out = normalize_image(with_orientation(Image.fromarray(stored), orientation, "JPEG", quality=95))
    check_output(out, *((h, w) if orientation <= 4 else (w, h)))
    red, blue = corner(out, CORNER[orientation]), corner(out, OPPOSITE[CORNER[orientation]])
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


# ---- damage and garbage ----------------------------------------------------------------------------------------------

def small_files():
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8))
    frames = [Image.new("RGB", (9, 7), c) for c in ("red", "lime", "blue")]
    return [encode(rgb, "PNG"), encode(rgb, "JPEG"), encode(rgb, "BMP"), encode(rgb, "TIFF"),
            encode(rgb, "WEBP"), encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
            encode(rgb.convert("P"), "PNG"), encode(rgb.convert("I;16"), "PNG")]


SAMPLES = small_files()


def assert_array_or_input_error(src, **kwargs):
    try:
        out = normalize_image(src, **kwargs)
    except InputError as err:
        assert str(err).startswith(OUR_MESSAGES), str(err)
        assert "PIL" not in str(err) and "Traceback" not in str(err)
    else:
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3 and out.flags.c_contiguous
        assert out.shape[0] * out.shape[1] <= kwargs.get("max_pixels", 16_000_000)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_give_an_array_or_an_input_error(raw):
    assert_array_or_input_error(raw, max_pixels=256 * 256)


@pytest.mark.filterwarnings("ignore::UserWarning")  # PIL's own log noise on damaged files ("Corrupt EXIF data")
@settings(max_examples=100, deadline=None)
@given(sample=st.sampled_from(SAMPLES), cut=st.integers(0, 5000), data=st.data())
def test_damaged_files_give_an_array_or_an_input_error(sample, cut, data):
    raw = bytearray(sample[:max(1, cut)] if cut < len(sample) else sample)
    for pos, byte in data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=4)):
        raw[pos] = byte
    assert_array_or_input_error(bytes(raw), max_pixels=256 * 256)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_input_errors(fmt):
    raw = encode(Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)), fmt)
    for keep in (0.9, 0.5, len(raw) // 3):
        cut = raw[:int(len(raw) * keep) if keep < 1 else keep]
        with pytest.raises(InputError, match="damaged or incomplete"):
            normalize_image(cut)
    with pytest.raises(InputError, match="not an image we can read"):
        normalize_image(raw[:8])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_formats_outside_the_allowlist_are_refused():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto showpage\n"
    with pytest.raises(InputError, match="not an image we can read"):
        normalize_image(eps)


# ---- size limits ------------------------------------------------------------------------------------------------------

def test_pixel_cap_is_checked_on_the_header_before_decoding():
    raw = png_header(5000, 4000)  # a few dozen bytes; decoding it would fail as damaged
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        normalize_image(raw)
    assert time.perf_counter() - start < 1
    assert str(err.value) == ("This image is 5000x4000 (20.0 megapixels); the limit is 16.0 megapixels. "
                              "Please use a smaller image.")
    with pytest.raises(InputError, match="damaged"):  # the same header under the cap is decoded, and fails
        normalize_image(raw, max_pixels=20_000_000)


@pytest.mark.parametrize("side,max_pixels,limit", [(20000, 16_000_000, "16.0"), (10000, 16_000_000, "16.0"),
                                                   (10000, 200_000_000, "89.5"), (20000, 500_000_000, "89.5")])
def test_pils_own_bomb_checks_become_our_message(side, max_pixels, limit):
    """PIL warns above 89.5 megapixels and raises above twice that; both come out as our message."""
    filters = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may escape either
        start = time.perf_counter()
        with pytest.raises(InputError) as err:
            normalize_image(data_url(png_header(side, side)), max_pixels=max_pixels)
        assert time.perf_counter() - start < 1
    assert f"the limit is {limit} megapixels. Please use a smaller image." in str(err.value)
    assert f"{side * side / 1e6:.1f} megapixels" in str(err.value)
    assert warnings.filters == filters and Image.MAX_IMAGE_PIXELS == 89478485


def test_pixel_cap_applies_to_arrays_and_pil_images():
    huge = np.broadcast_to(np.zeros(1, np.uint8), (5000, 4000, 3))  # no memory behind it
    with pytest.raises(InputError, match=r"4000x5000 \(20\.0 megapixels\)"):
        normalize_image(huge)
    with pytest.raises(InputError, match=r"10x10 \(0\.0 megapixels\); the limit is 0\.0"):
        normalize_image(Image.new("RGB", (10, 10)), max_pixels=99)
    check_output(normalize_image(Image.new("RGB", (10, 10)), max_pixels=100), 10, 10)


def test_zero_size_images():
    for empty in (np.zeros((0, 5, 3), np.uint8), np.zeros((4, 0), np.uint8), Image.new("RGB", (0, 3))):
        with pytest.raises(InputError, match="This image is empty"):
            normalize_image(empty)


def test_data_url_length_is_capped_before_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_DATA_URL_CHARS", 1000)
    monkeypatch.setattr(images.base64, "b64decode", lambda *a, **k: pytest.fail("decoded"))
    with pytest.raises(InputError, match=r"payload is 0\.0 MB; the limit is 0 MB"):
        normalize_image("data:image/png;base64," + "A" * 2000)


# ---- animation, bit depth, transparency ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "TIFF"])
def test_first_frame_of_animations(fmt):
    frames = [Image.new("RGB", (9, 7), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    raw = encode(frames[0], fmt, save_all=True, append_images=frames[1:], **({"lossless": True} if fmt == "WEBP" else {}))
    assert Image.open(io.BytesIO(raw)).n_frames == 3
    out = normalize_image(raw)
    check_output(out, 7, 9)
    assert (out == (255, 0, 0)).all()
    opened = Image.open(io.BytesIO(raw))
    opened.seek(2)  # a PIL image left on a later frame
    assert (normalize_image(opened) == (255, 0, 0)).all()


def test_sixteen_bit_is_scaled_not_clipped():
    values = np.array([[0, 255, 257, 32768, 65280, 65535]])
    expected = [0, 1, 1, 128, 254, 255]
    sources = {"I;16 png": encode(Image.fromarray(values.astype(np.uint16)), "PNG"),
               "I tiff": encode(Image.fromarray(values.astype(np.int32)), "TIFF"),
               "I image": Image.fromarray(values.astype(np.int32)),
               "I;16B": Image.frombytes("I;16B", (6, 1), values.astype(">u2").tobytes()),
               "uint16": values.astype(np.uint16), "big-endian uint16": values.astype(">u2")}
    for name, src in sources.items():
        assert normalize_image(src, mode="L")[0, :, 0].tolist() == expected, name
    wide = Image.fromarray(np.array([[-5, 70000]], np.int32))  # I mode outside 16 bits clips at the ends
    assert normalize_image(wide, mode="L")[0, :, 0].tolist() == [0, 255]


def test_arrays_of_every_dtype():
    assert normalize_image(np.array([[0.0, 0.5, 1.0]]), mode="L")[0, :, 0].tolist() == [0, 128, 255]
    assert normalize_image(np.array([[-3.0, 0.5, 2.0, 254.6, 300.0]]), mode="L")[0, :, 0].tolist() == [0, 0, 2, 255, 255]
    assert normalize_image(np.array([[True, False]]), mode="L")[0, :, 0].tolist() == [255, 0]
    assert normalize_image(np.array([[-1, 7, 300]]), mode="L")[0, :, 0].tolist() == [0, 7, 255]  # int64: 8-bit values
    assert normalize_image(np.float16([[0.25]]), mode="L")[0, 0, 0] == 64
    for shape in [(3, 4), (3, 4, 1), (3, 4, 2), (3, 4, 3), (3, 4, 4)]:
        check_output(normalize_image(np.full(shape, 255, np.uint8)), 3, 4)
    view = np.zeros((10, 12, 3), np.uint8)[::2, ::3]  # not contiguous in
    check_output(normalize_image(view), 5, 4)
    for bad in (np.array([[np.nan, 0.5]]), np.array([[np.inf]]), np.array([[-np.inf, 0.0]], np.float32)):
        with pytest.raises(InputError, match="NaN or infinite"):
            normalize_image(bad)
    for bad in (np.zeros(5, np.uint8), np.zeros((2, 2, 5), np.uint8), np.zeros((1, 2, 2, 3), np.uint8)):
        with pytest.raises(InputError, match="height x width"):
            normalize_image(bad)
    for bad in (np.zeros((2, 2), complex), np.zeros((2, 2), object), np.zeros((2, 2), "U3")):
        with pytest.raises(InputError, match="not supported"):
            normalize_image(bad)


def test_alpha_is_composited_on_the_background():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)
    rgba[0, 1] = (255, 0, 0, 128)
    out = normalize_image(Image.fromarray(rgba))
    assert out[0, 0].tolist() == [255, 0, 0] and out[1, 1].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [255, 127, 127]
    assert normalize_image(rgba, background=(0, 0, 0))[0, 1].tolist() == [128, 0, 0]
    assert normalize_image(encode(Image.fromarray(rgba)), background=(0, 10, 20))[1, 1].tolist() == [0, 10, 20]
    rgb = Image.new("RGB", (2, 1), (10, 20, 30))
    rgb.putpixel((1, 0), (1, 2, 3))
    keyed = normalize_image(encode(rgb, "PNG", transparency=(10, 20, 30)), background=(0, 255, 0))  # tRNS colour key
    assert keyed.tolist() == [[[0, 255, 0], [1, 2, 3]]]
    grey = Image.new("L", (2, 1), 5)
    assert normalize_image(encode(grey, "PNG", transparency=5), mode="L", background=(9, 9, 9)).ravel().tolist() == [9, 9]
    gif = Image.new("P", (2, 1), 0)
    gif.putpalette([200, 0, 0, 0, 0, 200] + [0] * 762)
    gif.putpixel((1, 0), 1)
    assert normalize_image(encode(gif, "GIF", transparency=0)).tolist() == [[[255, 255, 255], [0, 0, 200]]]


# ---- sources and outputs ---------------------------------------------------------------------------------------------

def test_every_kind_of_source(tmp_path):
    pixels = np.random.default_rng(2).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    raw = encode(Image.fromarray(pixels))
    path = tmp_path / "in.png"
    path.write_bytes(raw)

    class Stream:  # readable, not seekable, like a socket or an HTTP body
        def __init__(self):
            self.buf = io.BytesIO(raw)

        def read(self, n=-1):
            return self.buf.read(n)

    with open(path, "rb") as f:
        outs = [normalize_image(src) for src in (str(path), path, raw, bytearray(raw), memoryview(raw), io.BytesIO(raw),
                                                 f, Stream(), Image.open(path), pixels, data_url(raw),
                                                 "  " + data_url(raw, "PNG").upper()[:22] + data_url(raw)[22:] + "\n",
                                                 data_url(raw).replace(";base64", ";name=in.png;base64"))]
    for out in outs:
        assert np.array_equal(out, pixels)


@pytest.mark.parametrize("src,message", [
    (None, "No image was given"), ("", "No image was given"), ("   ", "No image was given"),
    (b"", "The image is empty"), ("missing/nowhere.png", "could not be found"), ("http://x/y.png", "not downloaded"),
    ("x\0y", "could not be found"), ("a" * 5000, "could not be found"), (3, "value of type int"),
    ([1, 2], "value of type list"), ({"path": "a.png"}, "value of type dict"), (b"GIF89a", "not an image we can read"),
    ("data:image/png;base64,iVBORw0K GgoAAAA", "not valid base64"), ("data:image/png;base64,iVBORw0KGgo-_", "base64"),
    ("data:image/png;base64,iVBORw0KGgoAAAANS", "not valid base64"), ("data:image/png;base64,ü", "not valid base64"),
    ("data:text/plain;base64,aGk=", "must start with 'data:image/"), ("data:image/png,rawbytes", "must start with"),
    ("data:;base64,aGk=", "must start with"), ("data:image/png;base64,", "The image is empty"),
    ("data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode(), "not an image we can read"),
])
def test_bad_sources_are_input_errors(src, message):
    with pytest.raises(InputError, match=message):
        normalize_image(src)


def test_directories_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="could not be found or opened"):
        normalize_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="image file is empty"):
        normalize_image(str(tmp_path / "empty.png"))


def test_programming_errors_are_not_input_errors():
    for kwargs in ({"mode": "RGBA"}, {"mode": "rgb"}, {"background": (1, 2)}, {"background": (0, 0, 256)}):
        with pytest.raises(ValueError) as err:
            normalize_image(np.zeros((2, 2), np.uint8), **kwargs)
        assert not isinstance(err.value, InputError)


def test_threads_leave_global_state_alone():
    filters, raw = list(warnings.filters), SAMPLES[0]
    errors = []

    def work():
        try:
            for _ in range(20):
                normalize_image(raw)
                with pytest.raises(InputError):
                    normalize_image(png_header(12000, 12000), max_pixels=10**9)
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and warnings.filters == filters


# ---- helpers ---------------------------------------------------------------------------------------------------------

def test_to_tensor_and_back():
    pixels = np.arange(256, dtype=np.uint8).reshape(4, 8, 8).transpose(1, 2, 0).copy()[..., :3]
    t = to_tensor(pixels)
    assert t.dtype == torch.float32 and t.shape == (3, 8, 8)
    assert t.min() == -1 and t.max() <= 1 and t[0, 0, 0] == pixels[0, 0, 0] / 127.5 - 1
    assert np.array_equal(to_uint8(t), pixels)
    assert to_tensor(pixels[..., 0]).shape == (1, 8, 8)
    batch = np.stack([pixels, pixels[::-1]])
    assert to_tensor(batch).shape == (2, 3, 8, 8)
    back = to_uint8(to_tensor(batch))
    assert back.shape == (2, 8, 8, 3) and back.flags.c_contiguous and np.array_equal(back, batch)
    wild = torch.tensor([[[-3.0, 2.0, float("nan"), 0.0]]])
    assert to_uint8(wild).ravel().tolist() == [0, 255, 128, 128]
    assert to_uint8(torch.zeros(2, 1, 4, 5, requires_grad=True)).shape == (2, 4, 5, 1)
    with pytest.raises(ValueError):
        to_tensor(pixels.astype(np.float32))
    with pytest.raises(ValueError):
        to_uint8(torch.zeros(4, 4))


def test_make_grid_layout():
    tiles = [np.full((3, 4, 3), i * 10, np.uint8) for i in range(5)]
    grid = make_grid(tiles, nrow=2, pad=1, pad_value=255)
    assert grid.shape == (3 * 4 + 1, 2 * 5 + 1, 3) and grid.dtype == np.uint8
    assert (grid[1:4, 1:5] == 0).all() and (grid[1:4, 6:10] == 10).all() and (grid[9:12, 1:5] == 40).all()
    assert (grid[0] == 255).all() and (grid[9:12, 6:10] == 255).all()  # border, and the empty last cell
    assert make_grid(tiles).shape == (2 * 5 + 2, 3 * 6 + 2, 3)  # ceil(sqrt(5)) = 3 per row
    assert make_grid(tiles, nrow=8, pad=0).shape == (3, 20, 3)  # never more columns than images
    grey = np.zeros((4, 28, 28), np.uint8)
    assert make_grid(grey, nrow=2).shape == (62, 62)  # HxW tiles give an HxW grid
    assert make_grid(grey[..., None], nrow=4, pad=0).shape == (28, 112, 1)
    mixed = make_grid([np.zeros((2, 2), np.uint8), np.full((3, 1, 3), 7, np.uint8)], pad=0, pad_value=(1, 2, 3))
    assert mixed.shape == (3, 4, 3) and mixed[2, 0].tolist() == [1, 2, 3] and mixed[2, 2].tolist() == [7, 7, 7]
    assert (mixed[:2, :2] == 0).all() and (mixed[:, 3] == (1, 2, 3)).all()  # grey promoted to colour; padded cells
    for bad in ([], [np.zeros((2, 2), np.float32)], [np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 4), np.uint8)]):
        with pytest.raises(ValueError):
            make_grid(bad)


def test_save_gif(tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [np.full((6, 5, 3), c, np.uint8) for c in colours]
    path = tmp_path / "anim.gif"
    assert save_gif(frames, path, duration_ms=80) == path
    with Image.open(path) as im:
        assert im.n_frames == 3 and im.info["duration"] == 80 and im.info["loop"] == 0
        for i, c in enumerate(colours):
            im.seek(i)
            assert im.convert("RGB").getpixel((2, 2)) == c
    assert (normalize_image(path) == (255, 0, 0)).all()
    grey = save_gif(np.stack([np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)]), str(tmp_path / "g.gif"),
                    loop=None)
    with Image.open(grey) as im:
        assert im.n_frames == 2 and "loop" not in im.info
    with pytest.raises(ValueError):
        save_gif([], tmp_path / "none.gif")


def test_resize():
    pixels = np.random.default_rng(3).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    assert resize(pixels, (12, 8), "nearest").tolist() == np.kron(pixels, np.ones((2, 2, 1), np.uint8)).tolist()
    assert resize(pixels, (3, 5)).shape == (5, 3, 3)  # size is (width, height), as in PIL
    assert resize(pixels, 7).shape == (7, 7, 3)
    assert resize(pixels[..., :1], (2, 2), "bilinear").shape == (2, 2, 1)
    assert resize(pixels[..., 0], (2, 2), "lanczos").shape == (2, 2)
    with pytest.raises(ValueError):
        resize(pixels, 4, "cubic")
