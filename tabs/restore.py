"""Restore from image: a PNG the app made carries its recipe (playground.provenance); dropped on the link bar's
button, it opens the recipe's view with its settings and runs the view again, which makes the same image."""
from urllib.parse import parse_qsl

import gradio as gr

from playground import provenance
from playground.errors import PlaygroundError
from tabs.common import _file_or_url

UPLOAD_ONLY = "Please upload the PNG file itself (a pasted picture carries no recipe)."


def button():
    """The Restore button of the link bar: a PNG from the upload cache, its path checked like every upload."""
    upload = gr.UploadButton("Restore from image", file_types=[".png"], type="filepath", size="sm", scale=0,
                             min_width=170, elem_id="restore")
    upload.preprocess = _file_or_url  # a path inside the upload cache, or the app's refusal
    return upload


def read(path):
    """(link params, a sentence for the note) of a PNG's recipe; PlaygroundError in the app's words."""
    if not isinstance(path, str) or path.startswith("data:"):
        raise gr.Error(UPLOAD_ONLY, print_exception=False)
    try:
        rec = provenance.read_recipe(path)
    except PlaygroundError as error:
        raise gr.Error(str(error), print_exception=False) from None
    params = dict(parse_qsl(provenance.query(rec)))
    made = ", ".join(f"{k} {v}" for k, v in (("model", rec.get("model")), ("seed", rec.get("seed"))) if v is not None)
    sentence = f"**Restored from the image's recipe:** {rec['tab']} / {rec['view']}" + (f" ({made})" if made else "")
    if rec.get("inputs") == provenance.UPLOAD:
        return params, sentence + (". It was made from an uploaded picture or a drawing, which the recipe does "
                                   "not hold: add the same picture, then press the view's button."), False
    return params, sentence + "; the view runs again with them and makes the same image.", True
