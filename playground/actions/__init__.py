"""Per-tab actions: validated inputs in, images and numbers out; the tabs only wire them."""
