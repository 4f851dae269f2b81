"""The baseline: a bare FastAPI app with a trivial JSON POST endpoint on the webhook's path.

Served exactly like the real app (one uvicorn worker, same host and client), so the ratio of the
two throughputs shows what the bot's own work costs.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/webhooks/telegram")
async def webhook(request: Request) -> JSONResponse:
    data = await request.json()
    return JSONResponse({"ok": isinstance(data, dict)})


@app.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})
