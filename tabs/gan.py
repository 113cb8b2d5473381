"""GAN tab: faces from a generator, latent walks, truncation, the discriminator, and "is it new?"."""
import gradio as gr
import numpy as np
import pandas as pd

from playground.actions import gan as actions
from tabs import two_settings
from tabs.common import guarded, image_input, image_output, intro, launch_alone, model_event, model_queue, raw

ETHICS = """**Faces of real people.** The 400 training photos show 40 people who sat for a research data set
in 1992-1994 (credit: AT&T Laboratories Cambridge). They agreed to a face-recognition study, not to
having new faces made from theirs. With 400 images a generator can copy its training data: the
"Is it new?" check above looks for that, and it can flag copies but cannot prove novelty.

**Deepfakes.** The same technique at scale makes photographs of people who never existed and puts
real people in pictures they never posed for. Synthetic faces are used for fake profiles and fraud;
detectors exist but lag behind generators.

**Bias.** A generator reproduces its data: these 40 people are mostly young, white and male, so
that is what it draws. Nothing here should be used to make claims about real people."""


def _pr_text(pr, psi):
    return (f"**At psi = {psi:g}:** precision {pr['precision']:.2f} (fidelity: share of generated faces that "
            f"fall on the real faces' manifold), recall {pr['recall']:.2f} (diversity: share of real faces "
            "the generated ones cover). Measured on 200 samples with the project's own feature network, so "
            "not comparable with published numbers. Lower psi usually raises precision and lowers recall.")


def _score_text(fake, real):
    listed = ", ".join(f"{v:+.2f}" for v in fake)
    mean = (f"**Generated, in grid order:** {listed} (mean {np.mean(fake):+.2f}).\n\n" if len(fake)
            else "Generate a grid to score generated images too.\n\n")
    return (f"**Real image:** {real:+.2f}\n\n{mean}"
            "The discriminator was trained to push real images above +1 and generated ones below -1 (the hinge "
            "loss); by the end of training it can barely tell them apart, so these scores say more about what "
            "it learned to look for than about how good an image is.")


def _note(result):
    """The sentence saying what the comparison uses instead of the training images ("" if nothing)."""
    note = result.get("note") if isinstance(result, dict) else result
    return f"\n\n*{note}*" if note else ""


def _verdict_text(result):
    lines = []
    for space, label in (("pixels", "Pixel space"), ("features", "Feature space (features network)")):
        n = result.get(space)
        if n is None:
            continue
        dists = ", ".join(f"{d:.3f}" for d in n.distance[0])
        verdict = ("**likely a copy** of a training face" if n.copy[0] else
                   "closer than usual to a training face" if n.ratio[0] < 0.75 else "no training face is unusually close")
        lines.append(f"**{label}:** nearest distances {dists}; the nearest is {n.ratio[0]:.2f}x the median distance "
                     f"between a training face and its nearest other training face: {verdict}.")
    return "\n\n".join(lines) + _note(result)


def _summary_text(summary):
    parts = [f"in {space} space {int(n.copy.sum())} of {len(n.copy)} are flagged as likely copies, the closest at "
             f"{n.ratio.min():.2f}x the usual distance between neighbouring training images"
             for space, n in (("pixel", summary["pixels"]), ("feature", summary.get("features"))) if n is not None]
    return ("**Is it new? The whole grid:** " + "; ".join(parts) + ". Click an image to see its nearest training images."
            + _note(summary))


def build():
    ids = actions.gan_ids()
    with gr.Blocks() as tab:
        intro("A generator turns random noise into a face; a discriminator learns to tell its faces from real "
              "ones; each improves against the other. Click Generate, then click a face.",
              "A **GAN** (Goodfellow et al. 2014) trains two networks against each other. The generator maps a "
              "random latent vector z (128 numbers drawn from a normal distribution) to an image; the "
              "discriminator scores images as real or generated. Here the discriminator uses spectral "
              "normalisation and the hinge loss, and because 400 photos are very few, both real and generated "
              "images are randomly shifted, cut out and re-lit before it sees them (DiffAugment, Zhao et al. "
              "2020), so it cannot simply memorise the training set. The faces shown come from an exponential "
              "moving average of the generator's weights, which is smoother than the latest weights.\n\n"
              "**Truncation** (Brock et al. 2019) pulls each latent toward the mean: faces get more typical and "
              "less varied. **Precision and recall** (Kynkaanniemi et al. 2019) measure exactly that trade: "
              "fidelity against diversity. A **latent walk** moves along a great circle between two latents "
              "(spherical interpolation), so each frame is a plausible latent.\n\n"
              "References: Goodfellow et al. 2014, *Generative Adversarial Nets*; Radford et al. 2016, *DCGAN*; "
              "Miyato et al. 2018, *Spectral Normalization*; Zhao et al. 2020, *Differentiable Augmentation "
              "for Data-Efficient GAN Training*; Karras et al. 2019, *StyleGAN* (the truncation trick).")
        faces = gr.State(None)
        side_state = gr.State(4)
        first_classes = actions.classes(ids[0]) if ids else []
        with gr.Row():
            model = raw(gr.Dropdown(ids, value=ids[0] if ids else None, label="Model"))
            label = raw(gr.Dropdown([actions.ALL] + first_classes, value=actions.ALL, label="Class",
                                    visible=bool(first_classes)))
            seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
            side = raw(gr.Slider(1, actions.MAX_SIDE, value=4, step=1, label="Grid size (n x n)"))
            psi = raw(gr.Slider(0, 1, value=1, step=0.05, label="Truncation psi (1 = none)"))
        with gr.Row():
            go = gr.Button("Generate", variant="primary")
            pr_btn = gr.Button("Measure fidelity and diversity at this psi")
        with gr.Row():
            with gr.Column(scale=3):
                grid = image_output("Generated faces (click one)")
            with gr.Column(scale=2):
                pr_md = gr.Markdown()
                picked = image_output("Selected face", height=160)
                near_px = image_output("Nearest training faces: pixel space", height=140)
                near_ft = image_output("Nearest training faces: feature space", height=140)
                verdict = gr.Markdown("**Is it new?** Click a face in the grid.")

        with gr.Accordion("Latent walk: from one seed's face to another's", open=False):
            with gr.Row():
                seed_a = raw(gr.Number(value=0, precision=0, minimum=0, label="First seed"))
                seed_b = raw(gr.Number(value=1, precision=0, minimum=0, label="Second seed"))
                steps = raw(gr.Slider(2, 32, value=10, step=1, label="Steps"))
                walk_btn = gr.Button("Walk")
            strip = image_output("Interpolation")
            gif = gr.Image(label="Animated", type="filepath", interactive=False, height=240)

        with gr.Accordion("Discriminator view: what does the critic think?", open=False):
            with gr.Row():
                real_index = raw(gr.Slider(0, (actions.training_size(ids[0]) if ids else 400) - 1, value=0, step=1,
                                           label="Training image to compare"))
                real_upload = image_input("...or upload a face (any size; made grey)")
            judge_btn = gr.Button("Score the grid and the real face")
            with gr.Row():
                real_img = image_output("Real face", height=200)
                scores_md = gr.Markdown()

        with gr.Accordion("Two truncations side by side, with the numbers", open=False):
            two_settings.build("gan", "gan_two_settings")
        with gr.Accordion("How it learned: fixed noise through training", open=False):
            gr.Markdown("The same 64 latents drawn at evenly spaced steps of training, and the losses. Watch blobs "
                        "turn into faces; a collapsing GAN would show the same face everywhere.")
            load_tl = gr.Button("Show the training timeline")
            timeline = gr.Gallery(label="Samples along training", columns=4, height=420, format="png")
            losses = gr.LinePlot(x="step", y="loss", color="network", label="Losses", height=260)

        with gr.Accordion("Risks: deepfakes, consent, memorisation, bias", open=False):
            gr.Markdown(ETHICS)

        def on_model(model_id):
            names = actions.classes(model_id)
            return (gr.update(choices=[actions.ALL] + names, value=actions.ALL, visible=bool(names)),
                    gr.update(maximum=actions.training_size(model_id) - 1, value=0))

        model.change(guarded(on_model), model, [label, real_index])

        def on_generate(model_id, label_value, seed_value, side_value, psi_value):
            image, made = actions.generate(model_id, seed_value, side_value, psi_value, label_value)
            summary = _summary_text(actions.novelty(model_id, made["images"]))
            return image, made, int(side_value), None, None, None, summary

        go.click(model_event(on_generate), [model, label, seed, side, psi],
                 [grid, faces, side_state, picked, near_px, near_ft, verdict], api_name="generate", **model_queue())

        def on_pr(model_id, label_value, seed_value, psi_value):
            pr = actions.fidelity_diversity(model_id, seed_value, psi_value, label_value)
            return _pr_text(pr, psi_value) + _note(pr)

        pr_btn.click(model_event(on_pr), [model, label, seed, psi], pr_md, api_name="precision_recall",
                     **model_queue())

        def on_select(model_id, made, side_value, evt: gr.SelectData):
            if made is None:
                raise gr.Error("Generate a grid first.")
            images = made["images"]
            tile = actions.zoom(images[:1]).shape[-1]
            index = actions.grid_index(evt.index[0], evt.index[1], side_value, tile=tile)
            if index is None or index >= len(images):
                raise gr.Error("Click on an image, not on the border between images.")
            result, strips = actions.is_new(model_id, images[index])
            return actions.zoom(images[index]), strips.get("pixels"), strips.get("features"), _verdict_text(result)

        grid.select(model_event(on_select), [model, faces, side_state], [picked, near_px, near_ft, verdict],
                    **model_queue())

        def on_walk(model_id, label_value, a, b, n):
            return actions.walk(model_id, a, b, n, label_value)

        walk_btn.click(model_event(on_walk), [model, label, seed_a, seed_b, steps], [strip, gif], api_name="walk",
                       **model_queue())

        def on_judge(model_id, made, index, upload):
            if upload is not None:  # through the normaliser once; judge takes the grey pixels as they are
                real, real_label = actions.normalize_image(upload, mode="L")[..., 0], None
            else:
                real, real_label = actions.real_example(model_id, index)
            fake, real_score = actions.judge(model_id, made, real, real_label)
            note = _note(actions.training_note(model_id)) if upload is None else ""
            return (real if max(real.shape) > 200 else actions.zoom(real)), _score_text(fake, real_score) + note

        judge_btn.click(model_event(on_judge), [model, faces, real_index, real_upload], [real_img, scores_md],
                        api_name="discriminate", **model_queue())

        def on_timeline(model_id):
            grids, log = actions.timeline(model_id)
            if not grids:
                raise gr.Error("This model has no training timeline shipped with it.")
            rows = [{"step": r["step"], "loss": r[k], "network": name} for r in log
                    for k, name in (("d_loss", "discriminator"), ("g_loss", "generator")) if k in r]
            return [(image, f"step {s:,}") for s, image in grids], pd.DataFrame(rows)

        load_tl.click(guarded(on_timeline), model, [timeline, losses], api_name="timeline")
    return tab


if __name__ == "__main__":
    launch_alone(build)
