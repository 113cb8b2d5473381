"""Generative Playground's library: models, data, images and metrics. Never imports gradio."""

__version__ = "0.26.0"  # written into every image's recipe (playground.provenance); raise it with a release
