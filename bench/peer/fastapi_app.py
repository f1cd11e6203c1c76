# bench/peer/fastapi_app.py: the Python peer of bench/peer_bench.sh. What a
# tuned FastAPI service would do for folio's cache hit: read the JSON body,
# check the message, and answer the stored reply from an in-process dict,
# as bytes already encoded (no model, no serialisation per request). Run by
# uvicorn with uvloop and httptools, access log off.
import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

# message → the encoded answer, filled on first ask like a cache.
ANSWERS: dict[str, bytes] = {}
PING = b'{"status":"ok","timestamp":"2026-01-01T00:00:00.000Z"}'


@app.get("/ping")
async def ping() -> Response:
    return Response(content=PING, media_type="application/json")


@app.post("/api/chat")
async def chat(request: Request) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"error": {"code": "invalid_json"}}, status_code=400)
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        return JSONResponse({"error": {"code": "invalid_message"}}, status_code=422)
    answer = ANSWERS.get(message)
    if answer is None:
        answer = json.dumps({"response": "A stored answer of typical length for a cached question.",
                             "cached": True}).encode()
        ANSWERS[message] = answer
    return Response(content=answer, media_type="application/json")
