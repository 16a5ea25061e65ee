"""The door: a request body over the limit is refused before anything reads it."""

from collections.abc import MutableMapping
from typing import Any

from api.problems import problem

BODY_MAX_BYTES = 64 * 1024  # the largest command is a few kilobytes


class BodyLimit:
    """Refuses a request body over `max_bytes` with 413 before anything reads it: by its
    Content-Length, or, sent in chunks, once it has grown past the limit (what it holds
    until then is at most the limit)."""

    def __init__(self, app: Any, max_bytes: int = BODY_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal delivered
            if delivered:
                return dict(await receive())
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        response = problem(
            413,
            "PAYLOAD_TOO_LARGE",
            f"a request body may hold at most {self.max_bytes} bytes",
        )
        await response(scope, receive, send)
