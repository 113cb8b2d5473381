"""A request guard in front of the Gradio app: sizes are checked before Gradio reads anything.

Upstream problems it covers (gradio 6.31):
- ImageEditor / Sketchpad blobs go to `/gradio_api/component_server` (`accept_blobs`), which keeps
  them in a dict per component until an event uses them and extends its layer list to whatever
  `index` the client names: one request with index 20,000,000 allocated 152 MB that stayed. The
  guard lets through only `accept_blobs`, with a small index and a small body; tabs.common bounds
  the dict and decodes the composite itself, with the app's pixel cap (Gradio's own preprocessing
  decoded every layer, whatever its size: a 170 KB 9000x9000 PNG cost 744 MB).
- Error replies from Gradio and FastAPI carry pydantic messages, handler names and server paths
  (the blocked-paths list, the home directory). Every reply of 400 or more on the API is replaced
  by one sentence of the app's own; the detail is logged.
"""
import json
import logging
import re

log = logging.getLogger("playground.guard")
MAX_BODY = 32 * 1024**2  # any request: above the 10 MB upload cap and a 20 MB data: URL, far below memory
MAX_BLOB_BODY = 1024**2  # one drawing layer of a 280x280 canvas is tens of KB
MAX_LAYER_INDEX = 3
MAX_DRAIN = 128 * 1024**2  # an oversized body up to this size is read and dropped before the refusal
SENTENCES = {
    400: "The request was not understood. Please reload the page and try again.",
    401: "Please log in first.",
    403: "That file is not available.",
    404: "Nothing was found at this address.",
    405: "The request was not understood. Please reload the page and try again.",
    413: "That request is too large. Images are limited to 10 MB.",
    422: "The request was not understood. Please reload the page and try again.",
    429: "Too many requests right now. Please wait a moment and try again.",
    503: "The server is busy right now. Please try again in a minute.",
}
SERVER_ERROR = "Something went wrong on the server. It has been logged; please try again."


def sentence(status):
    return SENTENCES.get(status, SERVER_ERROR if status >= 500 else SENTENCES[400])


class RequestGuard:
    """ASGI middleware: body caps for every request, the sketchpad's blob route checked, error replies
    rewritten. Responses below 400 and streamed event data pass untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        blob_route = path.rstrip("/").endswith("/component_server")
        cap = MAX_BLOB_BODY if blob_route else MAX_BODY
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            if declared <= MAX_DRAIN:  # read and drop it, so that the client gets to read our answer
                await _drain(receive)
            return await _refuse(send, 413, f"declared body of {declared} bytes on {path}")
        body, more, chunks = b"", True, []
        if blob_route or scope.get("method") == "POST" and declared is None:
            while more:  # read it all (within the cap) so that it can be checked or counted
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
                if sum(map(len, chunks)) > cap:
                    return await _refuse(send, 413, f"streamed body over {cap} bytes on {path}")
            body = b"".join(chunks)
            if blob_route and not _blob_request_ok(body):
                return await _refuse(send, 400, "component_server request refused")
            receive = _replay(body)
        elif declared is not None:
            receive = _counting(receive, cap)
        send = _rewrite_errors(send, path)
        try:
            await self.app(scope, receive, send)
        except Exception as error:  # noqa: BLE001 - Gradio raised past its routes
            log.exception("a request failed on %s", path)
            if not send.started:  # gradio's FnIndexInferError: no event has that API name
                await _send_sentence(send.raw, 404 if "FnIndex" in type(error).__name__ else 500)


def _content_length(scope):
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 1 << 62  # refused as too large: never trust an unreadable length
    return None


def _form_field(body, name):
    found = re.search(rb'name="' + name.encode() + rb'"\r\n\r\n([^\r\n]{0,64})\r\n', body)
    return found.group(1).decode("latin-1") if found else None


def _blob_request_ok(body):
    """Only the sketchpad's accept_blobs, with a layer index from 0 to MAX_LAYER_INDEX (or none)."""
    if body.lstrip()[:1] in (b"{", b"["):
        return False  # a JSON call of another server function: none of ours needs one
    if _form_field(body, "fn_name") != "accept_blobs":
        return False
    index = _form_field(body, "index")
    return index in (None, "", "null") or (index.isdigit() and int(index) <= MAX_LAYER_INDEX)


async def _drain(receive):
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = message.get("more_body", False)


def _replay(body):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return receive


def _counting(receive, cap):
    """Pass the body through, failing the request if it grows beyond what Content-Length said."""
    seen = 0

    async def counted():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > cap:
            raise ValueError("request body over the cap")
        return message
    return counted


async def _refuse(send, status, detail):
    log.warning("refused a request (%s): %s", status, detail)
    await _send_sentence(send, status)


async def _send_sentence(send, status, headers=()):
    body = json.dumps({"detail": sentence(status), "error": sentence(status)}).encode()
    keep = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type",
                                                               b"content-encoding")]
    await send({"type": "http.response.start", "status": status,
                "headers": keep + [(b"content-type", b"application/json"),
                                   (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _rewrite_errors(send, path):
    """Replace the body of any reply of 400 or more with the app's sentence; log what Gradio said."""
    state = {}

    async def guarded_send(message):
        guarded_send.started = True
        if message["type"] == "http.response.start" and message["status"] >= 400:
            state.update(status=message["status"], headers=message.get("headers", []), detail=b"")
            return
        if "status" in state and message["type"] == "http.response.body":
            if len(state["detail"]) < 2000:
                state["detail"] += message.get("body", b"")[:2000]
            if message.get("more_body", False):
                return
            log.info("error reply %s on %s: %r", state["status"], path, state["detail"][:500])
            return await _send_sentence(send, state.pop("status"), state["headers"])
        await send(message)
    guarded_send.started, guarded_send.raw = False, send
    return guarded_send
