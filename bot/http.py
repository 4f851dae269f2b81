"""Request helpers shared by the webhooks."""

from __future__ import annotations

from fastapi import HTTPException, Request, status


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing anything larger than ``limit`` bytes with 413."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid Content-Length") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"request body larger than {limit} bytes"
    )
