"""One module per model family: build(config), default_action(model, seed), and the family's functions."""
