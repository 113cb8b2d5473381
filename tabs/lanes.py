"""Lanes instead of one queue: which model events may run at the same time.

Gradio runs the events that share a concurrency id from one queue, at most `concurrency_limit` at a
time. Every model event used to share one id with a limit of 1, so one student's Compare run (minutes)
held up every other student's GAN grid (tens of milliseconds). Here each model event is put in one of
three lanes by its API name; tabs.serving.lanes applies them once the app is built.

The limits are for the 2 CPU cores this project is measured on (the classroom bench,
`python -m playground.bench --classroom`), with one torch thread per call (app.py's --threads, 1 by
default): at most four calls run at once, so a heavy call gets a core of its own most of the time and
cheap clicks keep the other. The registry is safe to use
from several calls at once (one load per model, no eviction while a model is in use).
"""
QUICK, SAMPLING, HEAVY = "quick", "sampling", "heavy"
LIMITS = {
    # cheap clicks (a GAN grid, a VAE reconstruction, a fast style network, an upscale, a cached result):
    # 2, one per core, so a class's clicks do not wait behind each other more than they must
    QUICK: 2,
    # sampling that takes seconds (diffusion at the default 20 steps, PixelCNN, text to image), loading a
    # model by hand, and views whose first call scores a whole gallery (PixelCNN and VAE likelihoods,
    # precision/recall: a minute under load, which held the cheap lane in the classroom bench): 1, so
    # two of them never take both cores from the cheap clicks
    SAMPLING: 1,
    # minutes of work (Compare, sampler grids, two settings, an optimisation, the out-of-distribution
    # tables): 1; the rest of the class keeps a core while one runs
    HEAVY: 1,
}
EVENT_LANE = {
    "generate": QUICK, "precision_recall": SAMPLING, "walk": QUICK, "discriminate": QUICK,
    "gan_two_settings": HEAVY,
    "reconstruct": QUICK, "latent_map": QUICK, "interpolate": QUICK, "sample": QUICK, "score": SAMPLING,
    "anomaly": HEAVY, "out_of_distribution": HEAVY, "vae_two_settings": HEAVY,
    "diffusion_generate": SAMPLING, "compare_samplers": HEAVY, "measure_samplers": HEAVY, "diffusion_edit": SAMPLING, "text_to_image": SAMPLING, "diffusion_two_settings": HEAVY,
    "pixelcnn_sample": SAMPLING, "pixelcnn_complete": SAMPLING, "pixelcnn_likelihood": SAMPLING,
    "pixelcnn_out_of_distribution": HEAVY, "receptive_field": QUICK, "pixelcnn_two_settings": HEAVY,
    "style_optimise": HEAVY, "style_compare": HEAVY, "style_fast": QUICK, "style_grams": QUICK,
    "superres_upscale": QUICK, "denoise": QUICK,
    "compare": HEAVY, "train_on_generated": HEAVY,
    "load_model": SAMPLING,
}
PRIVATE_LANE = QUICK  # events off the API: a click on a grid, a slider, a change of model or network
# Events that run no model (the data tab, model cards, classical style baselines, the forward process drawn
# with numpy) keep Gradio's default: a queue of their own per event, one at a time.


def lane_of(api_name, public):
    """The lane of a model event (KeyError for a public model event with no lane: add it to EVENT_LANE)."""
    if not public:
        return PRIVATE_LANE
    if api_name not in EVENT_LANE:
        raise KeyError(f"No lane for the model event {api_name!r}: add it to tabs.lanes.EVENT_LANE.")
    return EVENT_LANE[api_name]
