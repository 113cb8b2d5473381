"""Line charts with error bars, drawn as images (Gradio's plots draw no error bars): one picture a student can
read and a lesson can save, the same on every machine."""
import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 900, 480
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 20, 60  # margins around the plotting area, in pixels
LEGEND_ROW = 22
GRID, AXIS, TEXT = (225, 225, 225), (90, 90, 90), (30, 30, 30)


def _font(size):
    return ImageFont.load_default(size=size)


def _rgb(colour):
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _ticks(low, high, most=8):
    """Round tick values between low and high: steps of 1, 2 or 5 times a power of ten."""
    span = max(high - low, 1e-9)
    for step in (10.0 ** p * m for p in range(-3, 6) for m in (1, 2, 5)):
        if span / step <= most:
            first = np.ceil(low / step) * step
            return [round(float(v), 6) for v in np.arange(first, high + step / 1e6, step)]
    return [low, high]


def _legend_rows(series, width, font):
    """The legend's entries laid out in rows that fit the width: [[(x offset, entry), ...], ...]."""
    rows, row, x = [], [], 0
    for s in series:
        w = 30 + int(font.getlength(s["name"])) + 18
        if row and x + w > width:
            rows.append(row)
            row, x = [], 0
        row.append((x, s))
        x += w
    return rows + ([row] if row else [])


def line_chart(series, x_labels, y_label, x_label, y_lim=None, width=WIDTH, height=HEIGHT):
    """series: [{"name", "colour" ("#rrggbb"), "points": [(x index, mean, error or 0), ...]}] drawn as lines with
    vertical error bars (mean - error to mean + error) at evenly spaced categories x_labels. Returns an RGB array."""
    font, small = _font(14), _font(12)
    legend = _legend_rows(series, width - LEFT - RIGHT, small)
    plot_bottom = height - BOTTOM - LEGEND_ROW * len(legend)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    values = [v for s in series for _, m, e in s["points"] for v in (m - e, m + e)]
    low, high = y_lim or ((min(values), max(values)) if values else (0.0, 1.0))
    if high <= low:
        low, high = low - 1, high + 1
    n = max(len(x_labels), 1)

    def px(i):
        return LEFT + (i + 0.5) * (width - LEFT - RIGHT) / n

    def py(v):
        return plot_bottom - (min(max(v, low), high) - low) / (high - low) * (plot_bottom - TOP)

    for t in _ticks(low, high):
        y = py(t)
        draw.line([(LEFT, y), (width - RIGHT, y)], fill=GRID)
        label = f"{t:g}"
        draw.text((LEFT - 8 - font.getlength(label), y - 8), label, fill=TEXT, font=font)
    draw.line([(LEFT, TOP), (LEFT, plot_bottom), (width - RIGHT, plot_bottom)], fill=AXIS, width=1)
    for i, label in enumerate(x_labels):
        draw.text((px(i) - font.getlength(str(label)) / 2, plot_bottom + 6), str(label), fill=TEXT, font=font)
    draw.text(((LEFT + width - RIGHT) / 2 - font.getlength(x_label) / 2, plot_bottom + 26), x_label, fill=TEXT,
              font=font)
    axis = Image.new("RGB", (int(font.getlength(y_label)) + 4, 18), "white")
    ImageDraw.Draw(axis).text((2, 0), y_label, fill=TEXT, font=font)
    axis = axis.rotate(90, expand=True)
    image.paste(axis, (6, int((TOP + plot_bottom) / 2 - axis.height / 2)))
    for k, s in enumerate(series):
        colour, nudge = _rgb(s["colour"]), (k - (len(series) - 1) / 2) * 2  # bars side by side, not on top
        points = sorted(s["points"])
        draw.line([(px(i) + nudge, py(m)) for i, m, _ in points], fill=colour, width=2)
        for i, m, e in points:
            x = px(i) + nudge
            if e > 0:
                draw.line([(x, py(m - e)), (x, py(m + e))], fill=colour, width=1)
                for v in (m - e, m + e):
                    draw.line([(x - 4, py(v)), (x + 4, py(v))], fill=colour, width=1)
            draw.ellipse([x - 3, py(m) - 3, x + 3, py(m) + 3], fill=colour)
    for r, row in enumerate(legend):
        y = plot_bottom + 50 + r * LEGEND_ROW
        for x, s in row:
            draw.line([(LEFT + x, y + 7), (LEFT + x + 24, y + 7)], fill=_rgb(s["colour"]), width=3)
            draw.text((LEFT + x + 30, y), s["name"], fill=TEXT, font=small)
    return np.asarray(image)
