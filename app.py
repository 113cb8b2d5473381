"""Generative Playground: `python app.py` serves every tab at http://127.0.0.1:7860.

    python app.py [--host 127.0.0.1] [--port 7860] [--memory-budget 4GB] [--device auto] [--threads 1] [--offline]
"""
import argparse
import importlib
import json
import logging
import os
import tempfile
import threading
import urllib.request
from pathlib import Path

from starlette.middleware import Middleware

from playground import devices, registry
from playground.classroom import stream_click
from tabs.guard import RequestGuard

ROOT = Path(__file__).resolve().parent
TITLE = "Generative Playground"
# (label, module): each module has build() -> gr.Blocks and runs alone with `python -m tabs.<name>`.
TABS = [
    ("GAN", "tabs.gan"),
    ("VAE", "tabs.vae"),
    ("Diffusion", "tabs.diffusion"),
    ("PixelCNN", "tabs.pixelcnn"),
    ("Style transfer", "tabs.style"),
    ("Super-resolution", "tabs.superres"),
    ("Denoising", "tabs.denoise"),
    ("Compare", "tabs.compare"),
    ("Data", "tabs.data"),
    ("Models", "tabs.models"),
]
QUEUE_SIZE = 64
# Every endpoint a client may call by name; the other events (a dropdown filling another, a click on a
# grid) are private: off the API page and out of gradio_client's reach. tests/test_hostile.py sends
# each of these every hostile value it has.
PUBLIC_API = (
    "generate", "precision_recall", "walk", "discriminate", "timeline", "gan_two_settings",
    "reconstruct", "latent_map", "interpolate", "sample", "score", "anomaly", "out_of_distribution",
    "vae_two_settings",
    "diffusion_generate", "compare_samplers", "measure_samplers", "against_gan", "forward_process", "diffusion_edit",
    "text_to_image", "diffusion_two_settings",
    "pixelcnn_sample", "pixelcnn_complete", "pixelcnn_likelihood", "pixelcnn_out_of_distribution",
    "receptive_field", "pixelcnn_two_settings",
    "style_optimise", "style_fast", "style_baseline", "style_compare", "style_grams",
    "superres_upscale", "superres_example",
    "denoise",
    "compare", "train_on_generated", "data_sample", "inspect_upload", "watermark_check",
    "model_card", "load_model", "unload_model", "models_status",
)
# The events that also run when the page opens, so that these tabs open with a result (the others open with
# theirs already: Data's sample, the Models table, Super-resolution's example). The heavy ones show a stored
# result only (playground.results); warm_results stores them all in the background at start-up.
OPEN_WITH = ("generate", "reconstruct", "diffusion_generate", "pixelcnn_sample")
OPEN_FROM_CACHE = ("style_optimise", "compare")
# Also warmed at start-up: the heavy views' defaults (a class clicks them in the first minutes; stored, they
# answer at once instead of holding the heavy lane) and the views whose first call scores a whole gallery
WARM_ALSO = ("gan_two_settings", "vae_two_settings", "diffusion_two_settings", "pixelcnn_two_settings",
             "compare_samplers", "pixelcnn_likelihood", "score", "precision_recall")
# Per-session state: Gradio keeps a copy of every component's config per session (about 0.9 MB here) for up
# to 10,000 sessions, and every sessionless API call is a session. 200 covers a class of 30 with room.
SESSIONS_KEPT = 200
BAD_REQUEST = ("This request does not match what the endpoint takes (see the API page for its inputs). "
               "Please check the values and try again.")
DELETE_CACHE = (1800, 3600)  # every 30 minutes, files older than an hour leave Gradio's cache
# Gradio's plots give the chart the whole block's height under the block's label, so the bottom of the chart (its
# legend: which line is which) was cut off. As a flex column the chart takes what the label leaves.
# Two layout fixes Gradio 6.31 needs (each checked by a browser test in tests/browser/):
# - a chart gets its block's whole height under its label, so the legend at its foot was clipped
#   (test_classroom.py); the chart now fills what the label leaves;
# - table headers broke words mid-word in narrow columns ("memorisa-tion"): words now wrap whole, and
#   a column is at least as wide as its longest word (test_pages.py's Compare test).
# And one of ours: a lesson step outlines the control it points at (tabs/link_bar.py).
CSS = """
.block:has(> .vega-embed) { display: flex; flex-direction: column; }
.block > .vega-embed { flex: 1 1 0; min-height: 0; }
.table-wrap th, .table-wrap th * { word-break: normal !important; overflow-wrap: normal !important; }
.lesson-point { outline: 3px solid #f97316 !important; outline-offset: 4px; transition: outline 0.3s; }
"""


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                    help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    ap.add_argument("--memory-budget", default=None,
                    help="bytes of model weights kept in memory, e.g. 4GB (default: $PLAYGROUND_MEMORY_BUDGET or 4GB)")
    ap.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("PLAYGROUND_THREADS", 1)),
                    help="CPU threads per model call (default 1: up to four calls run at once in their lanes, "
                         "tabs/lanes.py; a lone user on a many-core machine may want more)")
    ap.add_argument("--no-warm", action="store_true", default=os.environ.get("PLAYGROUND_WARM") == "0",
                    help="do not fill the result cache with the tabs' first results at start-up ($PLAYGROUND_WARM=0)")
    ap.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")
    return ap.parse_args(argv)


def build_app():
    """Every tab in one gr.Blocks. Loads no model: models load when first used."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # lazy: gradio reads GRADIO_TEMP_DIR (and huggingface_hub HF_HUB_OFFLINE) when imported, and main() sets them
    # first; so gradio, and tabs.serving which imports it, come in here
    import gradio as gr

    from tabs import lesson_panel, link_bar, provenance, serving

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nGenerative image models you can click through: how they make pictures, "
                    "how to measure them, and what can go wrong. Everything here runs offline on models this "
                    "project trained itself; hub models are an upgrade when a network is available.")
        lessons = lesson_panel.panel()
        bar = link_bar.bar(also=lambda: lesson_panel.menu_into(lessons))
        lesson_panel.box_into(lessons)
        with gr.Tabs(elem_id="tabs"):
            for label, module in TABS:
                with gr.Tab(label):
                    importlib.import_module(module).build()  # a Blocks made inside a Blocks renders there
        opened = link_bar.wire(demo, bar, lessons, PUBLIC_API, OPEN_WITH)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    demo.delete_cache = DELETE_CACHE
    serving.private_events(demo, PUBLIC_API)
    serving.lanes(demo)
    provenance.record(demo)  # every image an event shows is a PNG carrying its recipe (issue 26)
    serving.open_with_results(demo, OPEN_WITH, OPEN_FROM_CACHE, after=opened)
    serving.gpu_events(demo)
    serving.error_boundary(demo, BAD_REQUEST)
    return demo


def launch_kwargs(args):
    caches = [ROOT / "weights", Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")),
              ROOT / "runs", ROOT / ".git"]
    return dict(server_name=args.host, server_port=args.port, max_file_size="10mb",
                blocked_paths=[str(p) for p in caches], allowed_paths=[], enable_monitoring=False,
                show_error=False, ssr_mode=False, state_session_capacity=SESSIONS_KEPT, css=CSS,
                app_kwargs={"middleware": [Middleware(RequestGuard)]})


WARM_DONE = "result cache warm"  # logged when warm_results ends (the classroom bench waits for it)


def warm_results(url, api_names=OPEN_WITH + OPEN_FROM_CACHE + WARM_ALSO):
    """Run each named event once on its controls' defaults, through the app's own API and lanes, so the
    shared result cache holds what the tabs open with (playground.results). Failures are logged."""
    log = logging.getLogger("playground.warm")
    try:
        with urllib.request.urlopen(f"{url}gradio_api/info", timeout=60) as r:
            endpoints = json.load(r)["named_endpoints"]
    except OSError:
        log.exception("could not read the API to warm the result cache")
        return
    log.info("warming the result cache: %s", ", ".join(api_names))
    for name in api_names:
        defaults = [p.get("parameter_default") for p in endpoints[f"/{name}"]["parameters"]]
        outcome, _, seconds = stream_click(url, name, defaults)
        log.info("warmed %s in %.1f s: %s", name, seconds, outcome)
    log.info(WARM_DONE)


def main(argv=None):
    args = parse_args(argv)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    reg = registry.configure(memory_budget=args.memory_budget, device=args.device)
    if args.device:
        reg.device  # a bad --device fails here, not at the first click
    devices.set_threads(args.threads)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(tempfile.gettempdir()) / "playground-gradio"))
    demo = build_app()
    demo.launch(prevent_thread_lock=True, **launch_kwargs(args))
    reg.device  # serving already; import torch now rather than at the first click
    if not args.no_warm:
        threading.Thread(target=warm_results, args=(demo.local_url,), daemon=True).start()
    demo.block_thread()


if __name__ == "__main__":
    main()
