"""Generative Playground's library: models, data, images and metrics. Never imports gradio."""
