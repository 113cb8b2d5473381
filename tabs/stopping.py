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

A Stop pressed while the run still waits in its lane marks that queued event (found in Gradio's own queue
by its session and view): when its turn comes the handler ends at once, changes no output and says so in a
note (NOT_STARTED). Gradio 6.31 has no public call that drops a waiting event and answers its client, and
`cancels=` paints Error (above), so the event runs, for no time. Calls without a session (a raw HTTP client)
run to their end.
"""
import inspect
import threading

import gradio as gr
from gradio.context import LocalContext

NOT_STARTED = "Stopped before it started: Stop was pressed while the run waited for its turn."
_lock = threading.Lock()
_running = {}  # (session hash, view) -> the stop flags of that view's runs in that session
_unstarted = {}  # ids of queued events whose Stop was pressed while they waited (a dict: oldest first)
UNSTARTED_KEPT = 1024  # marks of events that never ran (their page closed) go, oldest first, past this many


def _key(request, view):
    session = getattr(request, "session_hash", None)
    return (session, view) if session else None


def stoppable(view, fn):
    """A streaming handler for `view`: fn(*inputs, should_stop=callable) as a generator that Stop can end.

    Gradio sees fn's own parameters (without should_stop) and passes the request first, by annotation;
    the API's inputs stay what they were."""
    def handler(request, *args):
        with _lock:
            stopped_while_waiting = _unstarted.pop(LocalContext.event_id.get(None), False)
        if stopped_while_waiting:
            gr.Info(NOT_STARTED, duration=20)  # long enough to be read after the run it waited behind
            yield gr.skip()  # every output as it was (a generator that yields nothing would blank them)
            return
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
    handler.stop_view = view  # how request_stop knows the view's events in the queue (functools.wraps copies it)
    return handler


def _waiting(view, session):
    """Ids of the session's events of `view` that wait in a lane: Gradio's queue (Blocks._queue, internal),
    read as it is, since 6.31 offers no public view of it."""
    queue = getattr(LocalContext.blocks.get(None), "_queue", None)
    lanes = list(getattr(queue, "event_queue_per_concurrency_id", {}).values())
    return [e._id for lane in lanes for e in list(lane.queue)
            if e.session_hash == session and getattr(e.fn.fn, "stop_view", None) == view]


def request_stop(view, request):
    """Raise the stop flag of `view`'s runs in the request's session, and mark its runs still waiting in their
    lane so that they end as they start; False when there is neither."""
    key = _key(request, view)
    waiting = _waiting(view, key[0]) if key else []
    with _lock:
        flags = list(_running.get(key, ())) if key else []
        _unstarted.update(dict.fromkeys(waiting, True))
        while len(_unstarted) > UNSTARTED_KEPT:
            _unstarted.pop(next(iter(_unstarted)))
    for flag in flags:
        flag.set()
    return bool(flags or waiting)


def stop_button(view):
    """A Stop button for `view`, wired to its own cheap event (never queued behind the model lanes)."""
    button = gr.Button("Stop")

    def stop(request: gr.Request):
        request_stop(view, request)

    button.click(stop, None, None, queue=True, concurrency_limit=None, show_progress="hidden")
    return button
