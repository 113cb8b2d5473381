"""How many seconds of GPU each model event asks a ZeroGPU Space for: spaces.GPU(duration=...).

ZeroGPU gives a decorated call a GPU for the duration it asks (60 s when it names none), queues
shorter requests first, and may stop a call that runs past it; a visitor's daily quota must cover the
request. So each event asks for what its heaviest settings need on a GPU, with a margin, and no more.

A decorated call runs in a worker process forked from the server: the registry loads the model
there (onto the GPU), and a model or cached array loaded in one worker is loaded again in the next,
so every figure below includes loading the models from disk (and, for the hub models, downloading
them on first use: about 5 GB for sd-turbo, 550 MB for VGG-19, 335 MB for the photo autoencoder).
Private events (off the API: a click on the GAN grid, the latent-map sliders, a change of fast
network) ask for PRIVATE_SECONDS. tabs.serving.gpu_events applies these; tests/test_gpu_events.py checks it.

These are estimates from the CPU timings in docs/bench.json and the settings' maxima, not
measurements: no GPU was at hand.
"""

DEFAULT_SECONDS = 60  # what spaces.GPU asks for when no duration is named
PRIVATE_SECONDS = 30  # events off the API: a click on a grid, a slider, a dropdown that loads a network

GPU_SECONDS = {
    # GAN: a grid of up to 64, and the training set's features and neighbours built once per worker
    "generate": 30, "precision_recall": 30, "discriminate": 30, "walk": 20, "gan_two_settings": 30,
    # VAE: 2,000 gallery images encoded or scored at most; the hub photo autoencoder downloads once
    "reconstruct": 30, "latent_map": 20, "interpolate": 15, "sample": 15, "anomaly": 30, "score": 30,
    "out_of_distribution": 30, "vae_two_settings": 30,
    # Diffusion: up to 1,000 steps for 36 images, each step drawn and streamed; samplers x step
    # counts up to 4,000 network passes; two step counts of 100 images up to 200 steps each; KD of grid cells:
    # 100 images each, up to 500 passes an image (on a GPU, batches of 100 take seconds)
    "diffusion_generate": 120, "compare_samplers": 120, "measure_samplers": 180, "diffusion_edit": 30,
    "diffusion_two_settings": 60,
    "text_to_image": 120,
    # PixelCNN: 784 passes (one per pixel) for up to 36 images; 100 images twice for two temperatures
    "pixelcnn_sample": 60, "pixelcnn_complete": 30, "pixelcnn_likelihood": 30,
    "pixelcnn_out_of_distribution": 30, "pixelcnn_two_settings": 60, "receptive_field": 20,
    # Style: up to 500 L-BFGS iterations at 512 px (VGG-19 downloads once); two of them to compare
    "style_optimise": 120, "style_compare": 180, "style_fast": 15, "style_grams": 20,
    # Super-resolution: every method on up to 512 x 512 pixels, x4, in tiles, with PSNR and SSIM
    "superres_upscale": 40,
    # Denoising: five classical filters on the CPU (no GPU work) on up to 512 x 512 colour pixels
    "denoise": 20,
    # Compare: up to 1,000 images from each of six models (two PixelCNNs: 784 passes per batch of 64)
    "compare": 150,
    # Generated images as training data: three small classifiers of 500 steps, up to 500 generated images drawn
    "train_on_generated": 90,
    # Models tab: loading by hand (sd-turbo from the hub cache is about 5 GB)
    "load_model": 60,
}


def gpu_duration(api_name):
    """Seconds of GPU to ask for an event's handler, by the event's API name (GPU_SECONDS); None for a
    private event (PRIVATE_SECONDS).

    An unknown public name raises KeyError, so that a new model event cannot silently get the default.
    """
    if api_name is None:
        return PRIVATE_SECONDS
    if api_name not in GPU_SECONDS:
        raise KeyError(f"No GPU duration for the event {api_name!r}: add it to playground.gpu.GPU_SECONDS.")
    return GPU_SECONDS[api_name]
