"""Denoising tab: classical filters against known noise, side by side, measured, and swept over noise levels."""
import gradio as gr

from playground.actions import denoise as actions
from tabs.common import image_input, intro, launch_alone, model_event, raw

HEADERS = ["method", "PSNR (dB)", "gain over noisy (dB)", "SSIM", "ms"]
NOTE = ("PSNR is over every pixel value (all three channels in colour); SSIM is the mean over channels. Milliseconds "
        "are this server's, for this image, with whatever else it is running.")


def build():
    with gr.Blocks() as tab:
        intro("Add noise to a photo, then remove it six classical ways and measure how close each gets to the "
              "clean photo. Or upload a noisy picture: the tab estimates how noisy it is and cleans it up.",
              "**The noise** is Gaussian: each pixel gets a random number of standard deviation *sigma* (on the "
              "0-255 scale) added, the same every time for the same seed. **Gaussian blur** averages each pixel "
              "with its neighbours: noise and edges fade together. **Median** takes the middle value of a small "
              "window, robust to outliers. **Bilateral** (Tomasi and Manduchi 1998) averages only neighbours of "
              "similar brightness, so edges stay. **Wavelet shrinkage** (BayesShrink; Chang, Yu and "
              "Vetterli 2000) splits the picture into wavelet bands and shrinks the small coefficients, mostly "
              "noise, towards zero. **Total variation** (Rudin, Osher and Fatemi 1992) finds the "
              "closest picture whose gradients are sparse: flat regions with sharp edges. **Non-local means** "
              "(Buades, Coll and Morel 2005) averages pixels whose surrounding *patches* look alike anywhere "
              "nearby, so the repeated structure of a photo does the denoising. Every method's settings are "
              "set from sigma (see `playground/denoise.py`).\n\n"
              "**Ground-truth mode** adds the noise and compares each output with the clean photo: PSNR (dB; "
              "+1 dB is a clear step) and SSIM (1 is identical). **Already noisy** mode estimates sigma from the "
              "picture alone (Immerkaer 1996: the residual of a 3x3 Laplacian difference filter, robust median "
              "form) and sets the methods from that; with no clean photo there is no score. Pictures larger than "
              f"{actions.MAX_SIDE} px on the long side are shrunk first.\n\n"
              "Learned denoisers (a DnCNN-class network trained here) and diffusion models used as denoisers are "
              "coming to this tab next, measured the same way.\n\n"
              "References: Tomasi and Manduchi 1998, *Bilateral filtering*; Chang, Yu and Vetterli 2000, *Adaptive "
              "wavelet thresholding for image denoising*; Rudin, Osher and Fatemi 1992, "
              "*Nonlinear total variation based noise removal*; Buades, Coll and Morel 2005, *A non-local "
              "algorithm for image denoising*; Immerkaer 1996, *Fast noise variance estimation*; Wang et al. 2004, "
              "*SSIM*.")
        with gr.Row():  # the settings in two short rows, so the button and the table sit above a projector's fold
            choices = actions.photos()
            photo = raw(gr.Dropdown(choices, value=choices[0], label="Photo"))
            mode = raw(gr.Radio(list(actions.MODES), value=actions.GROUND_TRUTH, label="Mode"))
            colour = raw(gr.Radio(list(actions.COLOURS), value="grey", label="Colour"))
        with gr.Row(equal_height=True):
            sigma = raw(gr.Slider(*actions.SIGMA_RANGE, value=25, step=1,
                                  label="Noise sigma (0-255 scale; ground-truth mode)"))
            seed = raw(gr.Number(value=0, precision=0, label="Noise seed"))
            go = gr.Button("Denoise with every method", variant="primary", elem_id="denoise-go")
        with gr.Row():
            with gr.Column(scale=1):
                upload = image_input(f"Your image (used when Photo is '{actions.UPLOAD}')", height=200)
            with gr.Column(scale=2):
                scores = gr.Dataframe(headers=HEADERS, label="Every method (ground-truth mode fills PSNR and SSIM)",
                                      interactive=False, elem_id="denoise-table")
                notice = gr.Markdown(elem_id="denoise-notice")
        gr.Markdown(NOTE)
        outputs = gr.Gallery(label="Noisy input and every method's output", columns=4, height="auto",
                             format="png", elem_id="denoise-gallery")
        chart, chart_text = actions.sweep_chart()
        gr.Image(chart, label="PSNR against noise level: every method, precomputed", type="numpy", format="png",
                 interactive=False, elem_id="denoise-sweep")
        gr.Markdown(chart_text)

        def denoise(photo, image, mode, sigma, seed, colour):
            for state in actions.denoise_all(photo, image, mode, sigma, seed, colour):
                yield actions.rows(state), actions.gallery(state), state["note"]

        go.click(model_event(denoise), [photo, upload, mode, sigma, seed, colour], [scores, outputs, notice],
                 api_name="denoise")
    return tab


if __name__ == "__main__":
    launch_alone(build)
