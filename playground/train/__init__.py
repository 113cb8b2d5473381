"""Training commands, `python -m playground.train.<family>`, built on the shared loop in loop.py."""
