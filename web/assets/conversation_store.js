// conversation_store.js: what the page keeps in the browser's localStorage.
// The session id (a bearer secret issued by the server, which holds the
// transcript) and, for the answers shown, what the transcript does not keep:
// their sources with passages and why an answer was degraded, keyed by a
// hash of the answer's text and capped at the most recent kMaxExtras. Works
// without storage (private modes that refuse it): nothing survives a reload.

const SESSION_KEY = "folio.session";
const EXTRAS_KEY = "folio.extras";
const kMaxExtras = 40;

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage full or refused: the page still works */
  }
}

// 32-bit FNV-1a of a string, as 8 hex digits.
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export function sessionId() {
  return read(SESSION_KEY) || "";
}

export function setSessionId(id) {
  write(SESSION_KEY, id || null);
  if (!id) write(EXTRAS_KEY, null);
}

function extras() {
  try {
    const parsed = JSON.parse(read(EXTRAS_KEY) || "[]");
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

// Remembers an answer's sources and degraded reason.
export function rememberAnswer(text, info) {
  const key = hash(text);
  const list = extras().filter((e) => e.key !== key);
  list.push({ key, sources: info.sources || [], degraded_reason: info.degraded_reason || null });
  write(EXTRAS_KEY, JSON.stringify(list.slice(-kMaxExtras)));
}

// {sources, degraded_reason} remembered for an answer's text, or null.
export function recallAnswer(text) {
  const key = hash(text);
  return extras().find((e) => e.key === key) || null;
}
