"""The style family's colour baselines and colour handling: Reinhard et al. 2001 colour transfer, histogram
matching, and luminance-only transfer (Gatys et al. 2017). uint8 HxWx3 in and out; families.style re-exports them.
"""
import math

import numpy as np


# ---------------------------------------------------------------------------------------------------
# colour: Reinhard et al. 2001, histogram matching, luminance (Gatys et al. 2017)
_RGB2LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LMS2LAB = np.diag([1 / math.sqrt(3), 1 / math.sqrt(6), 1 / math.sqrt(2)]) @ np.array(
    [[1, 1, 1], [1, 1, -2], [1, -1, 0]])


def _to_lab(rgb):
    lms = np.asarray(rgb, np.float64).reshape(-1, 3) / 255 @ _RGB2LMS.T
    return np.log10(np.maximum(lms, 1e-4)) @ _LMS2LAB.T


def _from_lab(lab, shape):
    lms = 10 ** (lab @ np.linalg.inv(_LMS2LAB).T)
    rgb = lms @ np.linalg.inv(_RGB2LMS).T
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8).reshape(shape)


def reinhard(content, style):
    """Reinhard et al. 2001: match the mean and spread of each l-alpha-beta channel to the style's."""
    c, s = _to_lab(content), _to_lab(style)
    out = (c - c.mean(0)) / (c.std(0) + 1e-6) * s.std(0) + s.mean(0)
    return _from_lab(out, content.shape)


def histogram_match(content, style):
    """Each RGB channel of the content remapped so that its histogram is the style's."""
    out = np.empty_like(content)
    for ch in range(3):
        c, s = content[..., ch].ravel(), style[..., ch].ravel()
        c_values, c_index, c_counts = np.unique(c, return_inverse=True, return_counts=True)
        s_values, s_counts = np.unique(s, return_counts=True)
        c_quant = np.cumsum(c_counts) / c.size
        s_quant = np.cumsum(s_counts) / s.size
        out[..., ch] = np.rint(np.interp(c_quant, s_quant, s_values))[c_index].reshape(content.shape[:2])
    return out


_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _yiq(rgb):
    return np.asarray(rgb, np.float64) / 255 @ _YIQ.T


def luminance_only(image):
    """The luminance as a grey RGB image (for luminance-only transfer)."""
    y = _yiq(image)[..., 0]
    return np.repeat(np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)[..., None], 3, -1)


def match_luminance(style, content):
    """The style's luminance (grey RGB) shifted and scaled to the content's mean and spread."""
    ys, yc = _yiq(style)[..., 0], _yiq(content)[..., 0]
    y = (ys - ys.mean()) / (ys.std() + 1e-6) * yc.std() + yc.mean()
    return np.repeat(np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)[..., None], 3, -1)


def keep_colours(result, content):
    """The result's luminance with the content's colour (I and Q channels of YIQ)."""
    if result.shape != content.shape:
        content = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(content).resize(
            result.shape[1::-1]))
    yiq = _yiq(content)
    yiq[..., 0] = _yiq(result)[..., 0]
    return np.clip(np.rint(yiq @ np.linalg.inv(_YIQ).T * 255), 0, 255).astype(np.uint8)
