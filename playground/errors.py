"""Errors whose message is meant for the person using the playground.

The UI shows str(error) of a PlaygroundError as it is, so messages are one or two plain
sentences that say what was wrong and what to do instead. Anything else is a bug: the UI
logs it and shows a short generic message, never a traceback.
"""


class PlaygroundError(Exception):
    """Base class: an error with a message fit to show a user."""


class InputError(PlaygroundError, ValueError):
    """A value or image given by the user (or an API client) cannot be used."""


class ModelUnavailable(PlaygroundError):
    """A model cannot be loaded here: missing weights, or a hub model without a network."""


class DataMissing(PlaygroundError):
    """A data set is not installed; the message names the command that installs it."""
