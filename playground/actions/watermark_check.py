"""The Data tab's "Was this made here?" check: the invisible watermark (playground.watermark) read from an upload,
the robustness table `python -m playground.bench --watermark` measured, and what a watermark cannot prove."""
import json

from .. import watermark
from ..images import normalize_image

HEADERS = ["What happened to the picture", "Marked pictures still found"]
CANNOT_PROVE = (
    "**What a watermark cannot prove.** *No mark found* does not mean the picture is real: cropping, heavy "
    "edits, or drawing it again with another model erase the mark, and anyone who reads this open-source code "
    "has the key and can strip it on purpose. Most generators mark nothing at all. *Mark found* does not prove "
    "this app made the picture either: anyone with the code can stamp the mark on any photo (the button above "
    "does exactly that). And the recipe a PNG carries in its text is gone after any screenshot or re-encode. A "
    "watermark is a signal from tools that cooperate, useful against accidents and honest mix-ups; against "
    "someone who wants to deceive, it proves nothing on its own.")


def check(image):
    """The verdict on an uploaded picture, in words, with the score and the threshold."""
    pixels = normalize_image(image, mode="RGB")
    found = watermark.detect(pixels)
    size = f"{pixels.shape[1]}x{pixels.shape[0]}"
    if found.found:
        head = "**Mark found: this picture carries the playground's invisible watermark.**"
        tail = ("A copy of this app's code marked it (or someone stamped the mark on it: see below). A score this "
                "high almost never happens by chance.")
    else:
        head = "**No mark found.**"
        tail = ("Either this app never marked the picture, or the mark was removed: a crop, heavy editing, another "
                "model redrawing it, or someone with the key. Only a missing mark is shown, not that the picture is "
                "real.")
    return (f"{head}\n\nScore {found.score:.1f} against the threshold {found.threshold:g} (on pictures nobody "
            f"marked the score is near 0, within about plus or minus 3; a freshly marked picture scores about 30). "
            f"Checked at {size}, seen at {watermark.SIZE}x{watermark.SIZE}.\n\n{tail}")


def mark_upload(image):
    """The upload with the mark stamped on it (a lesson: forging the mark takes one click), and a note."""
    pixels = normalize_image(image, mode="RGB")
    marked = watermark.mark(pixels)
    return marked, (f"Marked: {watermark.psnr(pixels, marked):.1f} dB PSNR against your picture (above about 40 dB "
                    f"no one sees a difference), score {watermark.detect(marked).score:.1f}. Download it, change it "
                    f"(JPEG, resize, crop, screenshot) and check it again.")


def robustness():
    """(rows, note): the robustness table playground/assets/watermark.json holds, and a line on where it came from."""
    try:
        result = json.loads(watermark.TABLE.read_text())
    except (OSError, ValueError):
        return [], ("The robustness table has not been measured on this installation: run "
                    "`python -m playground.bench --watermark`.")
    rows = [[r["change"], f"{r['detected']:.1%} of {r['of']}"] for r in result["rows"]]
    fp = result["false_positives"]
    rows.append([f"Real pictures nobody marked ({fp['of']:,}): wrongly found", f"{fp['rate']:.1%} ({fp['found']})"])
    psnr = result["psnr_db"]
    note = (f"Measured by `{result['command']}` on {result['generated']} pictures the app's models made at their "
            f"default settings, marked, then changed; false positives on Fashion-MNIST, MNIST and ORL faces (single "
            f"and in grids as the app draws them) and photos and crops of them. The mark changes a picture by "
            f"{psnr['colour outputs']['median']:.0f} dB PSNR (colour) and {psnr['grey outputs']['median']:.0f} dB "
            f"(grey grids): invisible. Cropping defeats it: the picture moves under the grid the mark is read on.")
    return rows, note
