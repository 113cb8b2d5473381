"""Super-resolution tab: classical resamplers against learned upscalers, side by side and measured."""
import gradio as gr

from playground.actions import superres as actions
from tabs.common import guarded, image_input, intro, launch_alone, model_event, raw

HEADERS = ["method", "PSNR (dB)", "gain over bicubic (dB)", "SSIM", "ms"]
NOTE = ("PSNR and SSIM are measured on the luminance Y with `scale` pixels cropped from each border, as "
        "super-resolution papers do; milliseconds are this server's, for this image, with whatever else it is "
        "running. Higher PSNR is not always the sharper-looking picture: compare the zoomed crops.")


def _gallery(result):
    return [(image, f"{name} ({image.shape[1]}x{image.shape[0]})") for name, image in result["outputs"].items()]


def build():
    with gr.Blocks() as tab:
        intro("Make a small picture bigger four ways: copy pixels, blend them (bilinear, bicubic, Lanczos), or ask a "
              "network trained on pictures what the missing detail probably was. Then measure which guessed best.",
              "**Classical resamplers** compute each new pixel from its neighbours with a fixed formula: nearest "
              "copies, bilinear and bicubic blend 4 or 16 neighbours, Lanczos uses a windowed sinc over 36. They "
              "cannot restore detail that the small image lost.\n\n"
              "**Learned upscalers** are trained on pairs (a photo, its bicubic downscale) to predict the photo from "
              "the downscale. The fast model (ESPCN class; Shi et al. 2016) has a few tens of thousands of "
              "parameters and works at low resolution, ending in a *pixel shuffle*; the residual one (EDSR-baseline "
              "class; Lim et al. 2017) stacks residual blocks, about a million parameters. Both learn only what to "
              "add to a bicubic upscale. **ESRGAN-slim** is a small pretrained model from UpscalerJS (MIT), ported "
              "to PyTorch; it was trained elsewhere with its own degradation.\n\n"
              "**Ground-truth mode** first downscales your image, then asks every method to upscale it back, so "
              "each can be compared with the original: PSNR (dB; +1 dB is a clear step) and SSIM (1 is identical). "
              "Large images are processed in overlapping tiles so memory stays bounded.\n\n"
              "References: Dong et al. 2016, *FSRCNN*; Shi et al. 2016, *ESPCN*; Lim et al. 2017, *EDSR*; Wang et "
              "al. 2018, *ESRGAN*; Zhang et al. 2018, *RDN*; Wang et al. 2004, *SSIM*.")
        result = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                first, first_path = actions.default_pick()  # the first click has a picture to upscale
                upload = image_input("Your image", height=240, value=first_path)
                example = raw(gr.Dropdown(list(actions.PICKS), value=first, label="...or pick an example"))
            with gr.Column(scale=1):
                scale = raw(gr.Radio([("x2", 2), ("x4", 4)], value=4, label="Scale"))
                truth = raw(gr.Checkbox(value=True, label="Ground-truth mode: downscale first, then measure"))
                go = gr.Button("Upscale with every method", variant="primary", elem_id="superres-go")
                gr.Markdown(f"Largest image to upscale: {actions.MAX_PIXELS:,} pixels, for example 640x480 "
                            f"(x{actions.SCALES[-1]} of that in ground-truth mode, which downscales first); a larger "
                            "one is shrunk to that first, and the tab says so. The networks run in tiles.")
                notice = gr.Markdown(elem_id="superres-notice")
        scores = gr.Dataframe(headers=HEADERS, label="Every method (ground-truth mode fills PSNR and SSIM)",
                              interactive=False, elem_id="superres-table")
        gr.Markdown(NOTE)
        outputs = gr.Gallery(label="Every method, side by side", columns=4, height="auto", format="png",
                             elem_id="superres-gallery")
        with gr.Row():
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before (input, nearest neighbour) / after", format="png",
                                        type="numpy", interactive=False, elem_id="superres-slider")
            with gr.Column(scale=1):
                method = raw(gr.Dropdown([], label="After: which method"))
                cx = raw(gr.Slider(0, 1, value=0.5, step=0.01, label="Zoom centre: x (fraction of the width)"))
                cy = raw(gr.Slider(0, 1, value=0.5, step=0.01, label="Zoom centre: y (fraction of the height)"))
        crops = gr.Gallery(label="The same spot of every method, zoomed", columns=6, height=260, format="png",
                           elem_id="superres-crops")

        def on_example(name):
            return actions.pick(name) if name else None

        example.change(guarded(on_example), example, upload, api_name="superres_example")

        def on_go(image, scale_value, truth_value):
            res = actions.upscale_all(image, scale_value, truth_value)
            names = list(res["outputs"]) + (["ground truth"] if res["truth"] is not None else [])
            best = actions.slider_default(res)
            return (res, actions.table(res), _gallery(res), actions.slider_pair(res, best),
                    gr.update(choices=names, value=best), actions.zoom_crops(res, 0.5, 0.5), res.get("note") or "")

        go.click(model_event(on_go), [upload, scale, truth], [result, scores, outputs, slider, method, crops, notice],
                 api_name="superres_upscale")

        def on_method(res, name):
            return actions.slider_pair(res, name) if res and name else None

        method.input(guarded(on_method), [result, method], slider)

        def on_zoom(res, x, y):
            return actions.zoom_crops(res, x, y) if res else []

        for s in (cx, cy):
            s.release(guarded(on_zoom), [result, cx, cy], crops)
    return tab


if __name__ == "__main__":
    launch_alone(build)
