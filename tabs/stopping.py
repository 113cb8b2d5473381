"""One Stop for every streaming view: the run ends as if it had finished, with what it made so far.

Gradio's own `cancels=` kills the running task, and the page then paints a red "Error" on every output
and keeps nothing: a class reads that as a crash. Here Stop only raises a flag:

- `stoppable(view, fn)` makes the handler of a view's long event. It registers a threading.Event under
  (the browser session, the view) while it runs and calls `fn(*inputs, should_stop=event.is_set)`. The
  action (playground/actions/*) checks `should_stop()` between steps and, when it is set, ends with its
  partial result, "Stopped at step k of N" and, where the view animates, the GIF of the steps so far.
  playground.results never stores a run during which Stop was pressed.
- `stop_button(view)` wires a Stop button to a cheap event of its own (no model, no lane, no limit on how
  many run at once), so Stop answers while the model lanes are busy. It sets the flag of that view's runs
  in the same session only: another student's run, or another view of the same page, goes on.

A Stop pressed while the run still waits in the queue finds nothing running and does nothing; the run
starts when its turn comes and can be stopped then. Calls without a session (a raw HTTP client) run to
their end.
"""
import inspect
import threading

import gradio as gr

_lock = threading.Lock()
_running = {}  # (session hash, view) -> the stop flags of that view's runs in that session


def _key(request, view):
    session = getattr(request, "session_hash", None)
    return (session, view) if session else None


def stoppable(view, fn):
    """A streaming handler for `view`: fn(*inputs, should_stop=callable) as a generator that Stop can end.

    Gradio sees fn's own parameters (without should_stop) and passes the request first, by annotation;
    the API's inputs stay what they were."""
    def handler(request, *args):
        key, flag = _key(request, view), threading.Event()
        if key:
            with _lock:
                _running.setdefault(key, set()).add(flag)
        try:
            yield from fn(*args, should_stop=flag.is_set)
        finally:
            if key:
                with _lock:
                    flags = _running.get(key, set())
                    flags.discard(flag)
                    if not flags:
                        _running.pop(key, None)

    params = [p for name, p in inspect.signature(fn).parameters.items() if name != "should_stop"]
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request)
    handler.__signature__ = inspect.Signature([request, *params])
    handler.__annotations__ = {"request": gr.Request}
    handler.__name__ = handler.__qualname__ = getattr(fn, "__name__", view)
    handler.__doc__ = fn.__doc__
    return handler


def request_stop(view, request):
    """Raise the stop flag of `view`'s runs in the request's session; False when none is running."""
    key = _key(request, view)
    with _lock:
        flags = list(_running.get(key, ())) if key else []
    for flag in flags:
        flag.set()
    return bool(flags)


def stop_button(view):
    """A Stop button for `view`, wired to its own cheap event (never queued behind the model lanes)."""
    button = gr.Button("Stop")

    def stop(request: gr.Request):
        request_stop(view, request)

    button.click(stop, None, None, queue=True, concurrency_limit=None, show_progress="hidden")
    return button
