// chat_api.js: folio's HTTP API as the page uses it. streamChat() posts a
// question to /api/chat and reads the Server-Sent Events (meta, token…, done
// or error) from the response body as they arrive (fetch + a stream reader:
// EventSource cannot POST). Every failure becomes a ChatError whose `kind`
// the page turns into a message: offline, aborted, rate_limited (with
// retryAfter seconds), busy, timeout, session_expired, unauthorized,
// invalid, failed. Paths are relative: the page and the widget's frame are
// both served by folio itself.

export class ChatError extends Error {
  constructor(kind, message, { status = 0, code = "", retryAfter = 0 } = {}) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// Seconds from a Retry-After header (delta-seconds or an HTTP date); 0 if absent.
export function retryAfterSeconds(value, now = Date.now()) {
  if (!value) return 0;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at - now) / 1000));
}

const KIND_BY_CODE = {
  rate_limited: "rate_limited",
  busy: "busy",
  shed: "busy",
  timeout: "timeout",
  session_not_found: "session_expired",
  unauthorized: "unauthorized",
};

function kindOf(status, code) {
  if (KIND_BY_CODE[code]) return KIND_BY_CODE[code];
  if (status === 429) return "rate_limited";
  if (status === 503) return "busy";
  if (status === 504) return "timeout";
  if (status === 401) return "unauthorized";
  if (status >= 400 && status < 500) return "invalid";
  return "failed";
}

// A ChatError from an error answer ({"error":{"code","message"}}), whatever its body.
async function errorFrom(response) {
  let code = "";
  let message = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    code = String(body?.error?.code ?? "");
    if (typeof body?.error?.message === "string") message = body.error.message;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ChatError(kindOf(response.status, code), message, {
    status: response.status,
    code,
    retryAfter: retryAfterSeconds(response.headers.get("Retry-After")),
  });
}

function networkError(e) {
  if (e?.name === "AbortError") return new ChatError("aborted", "Stopped.");
  if (!navigator.onLine) return new ChatError("offline", "You are offline.");
  return new ChatError("offline", "The server could not be reached.");
}

async function request(path, init) {
  try {
    return await fetch(path, init);
  } catch (e) {
    throw networkError(e);
  }
}

// Splits an SSE body into events; calls onEvent(name, data) for each.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw networkError(e);
    }
    if (chunk.done) return;
    buffer += chunk.value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
      }
      let parsed = null;
      try {
        parsed = JSON.parse(data);
      } catch {
        continue; // a comment or keep-alive
      }
      if (onEvent(name, parsed) === false) return;
    }
  }
}

// Asks `message` in session `sessionId` ("" for a new one). onMeta(meta)
// gets the session id and sources before the first token; onToken(text)
// each piece of the answer. Resolves with the done event's data
// ({session_id, sources, degraded, degraded_reason, cached, usage}).
export async function streamChat({ message, sessionId, signal, onMeta, onToken }) {
  const body = { message, stream: true };
  if (sessionId) body.session_id = sessionId;
  const response = await request("/api/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await errorFrom(response);
  let done = null;
  let failure = null;
  await readEvents(response.body, (name, data) => {
    if (name === "meta") onMeta?.(data);
    else if (name === "token" && typeof data.text === "string") onToken?.(data.text);
    else if (name === "done") done = data;
    else if (name === "error") {
      const code = String(data?.error?.code ?? "");
      failure = new ChatError(kindOf(0, code), data?.error?.message ?? "The answer failed.", { code });
    }
    return !(done || failure);
  });
  if (failure) throw failure;
  if (!done) throw new ChatError("failed", "The answer was cut off.");
  return done;
}

// The stored conversation {session_id, messages:[{role, content, timestamp}]};
// null when the session is unknown or expired (404).
export async function loadSession(id) {
  const response = await request(`/api/sessions/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" } });
  if (response.status === 404 || response.status === 400) return null;
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

// Forgets a session on the server; an unknown one is already forgotten.
export async function deleteSession(id) {
  const response = await request(`/api/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (!response.ok && response.status !== 404 && response.status !== 400) throw await errorFrom(response);
}

// The owner's settings (site.json, published by scripts/start).
export async function loadSite() {
  const response = await request("/site.json", { headers: { Accept: "application/json" } });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}
