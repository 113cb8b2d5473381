"""The out-of-distribution panel the VAE and PixelCNN tabs share: clothes in, digits out, raw
likelihood against the complexity-corrected score (playground.ood.in_out_view's result)."""
import gradio as gr
import pandas as pd

from tabs.common import model_event

NAMES = ("clothes (in)", "digits (out)")
COLOURS = {NAMES[0]: "#1f77b4", NAMES[1]: "#ff7f0e"}
LEGEND = "Blue: Fashion-MNIST test images; orange: MNIST digits."


def _text(r):
    return (f"**AUROC, digits as anomalies: raw likelihood {r['auroc_raw']:.3f}, complexity-corrected "
            f"{r['auroc_corrected']:.3f}** (0.5 is chance; below 0.5 means the digits look *more* normal). "
            f"Mean code length: clothes {r['mean_raw'][0]:.2f}, digits {r['mean_raw'][1]:.2f} bits/dim.\n\n{r['why']}")


def build(view_fn, model_name, score_name, api_name="out_of_distribution"):
    """view_fn() -> in_out_view dict; score_name names the raw score (e.g. "-ELBO")."""
    gr.Markdown(f"**{model_name}**, trained on Fashion-MNIST, scores 1,000 of its test images and 1,000 MNIST "
                "digits it has never seen. Which does it find more likely?")
    button = gr.Button("Score clothes and digits", variant="primary")
    text = gr.Markdown()
    with gr.Row():
        raw_hist = gr.LinePlot(x="score", y="share", color="set", height=380, color_map=COLOURS,
                               label=f"Likelihood score: {score_name} in bits/dim (right = less likely). {LEGEND}")
        cor_hist = gr.LinePlot(x="score", y="share", color="set", height=380, color_map=COLOURS,
                               label=f"Complexity-corrected: {score_name} minus PNG length, bits/dim. {LEGEND}")

    def on_click():
        r = view_fn()
        return _text(r), pd.DataFrame(r["raw"]), pd.DataFrame(r["corrected"])

    button.click(model_event(on_click), None, [text, raw_hist, cor_hist], api_name=api_name)
