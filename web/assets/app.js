// app.js: the chat page (/) and the widget's frame (/widget.html, the same
// page with a close button): one controller for both. It applies the
// owner's settings (site.json), restores the conversation of the session id
// kept in localStorage, sends questions and paints the streamed answer at
// most once per animation frame, and turns every failure into a message
// with a way on (Retry, or a countdown after 429). Focus stays where the
// visitor is typing; a polite live region announces each finished answer
// (never each token) and each problem.

import { ChatError, deleteSession, loadSession, loadSite, streamChat } from "./chat_api.js";
import * as store from "./conversation_store.js";
import { plainText } from "./markdown.js";
import { answerBody, answerItem, el, finishAnswer, noticeItem, setAnswerText, setSources, userItem } from "./messages.js";

const $ = (id) => document.getElementById(id);
const ui = {
  title: $("title"), log: $("log"), form: $("composer"), input: $("input"), send: $("send"), stop: $("stop"),
  fresh: $("new"), close: $("close"), announce: $("announce"), privacy: $("privacy"), scroller: $("scroller"),
};
// nginx serves this same page as /widget.html, the frame the widget opens.
const widget = location.pathname === "/widget.html";
if (widget) {
  document.documentElement.dataset.mode = "widget";
  ui.close.hidden = false;
}
const state = { site: { name: "Assistant", greeting: "", suggestions: [] }, controller: null, cooldown: 0 };

function announce(text) {
  // Cleared first, so the same words twice are announced twice.
  ui.announce.textContent = "";
  requestAnimationFrame(() => (ui.announce.textContent = text));
}

function nearBottom() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToEnd() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

function append(item) {
  const follow = nearBottom();
  ui.log.append(item);
  if (follow) scrollToEnd();
}

// ---------------------------------------------------------------- settings

function applySite(site) {
  state.site = site;
  ui.title.textContent = site.name;
  if (!widget) document.title = site.name;
  const root = document.documentElement.style;
  if (/^#[0-9a-f]{6}$/.test(site.accent)) root.setProperty("--accent", site.accent);
  if (/^#[0-9a-f]{6}$/.test(site.accent_text)) root.setProperty("--accent-text", site.accent_text);
  ui.privacy.textContent = site.privacy_note || "";
  ui.privacy.hidden = !site.privacy_note;
}

function greeting() {
  const items = [];
  if (state.site.greeting) {
    const item = answerItem(state.site.name);
    item.classList.add("greeting");
    setAnswerText(item, state.site.greeting);
    finishAnswer(item, "done");
    items.push(item);
  }
  if (state.site.suggestions?.length) {
    const buttons = state.site.suggestions.map((q) =>
      el("li", {}, el("button", { type: "button", className: "suggestion", onclick: () => ask(q) }, q)));
    items.push(el("li", { className: "suggestions" },
      el("p", { className: "sr-only", id: "suggestions-label" }, "Suggested questions"),
      el("ul", { attrs: { "aria-labelledby": "suggestions-label" } }, ...buttons)));
  }
  return items;
}

function showEmptyConversation() {
  ui.log.replaceChildren(...greeting());
}

// ---------------------------------------------------------------- asking

function setBusy(busy) {
  const hadFocus = document.activeElement;
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.log.setAttribute("aria-busy", String(busy));
  if (busy && hadFocus === ui.send) ui.stop.focus();
  if (!busy && (hadFocus === ui.stop || hadFocus === document.body)) ui.input.focus();
}

function clearNotices() {
  ui.log.querySelectorAll(".notice, .suggestions").forEach((n) => n.remove());
}

const MESSAGES = {
  offline: "You appear to be offline. Your question is kept: retry when you are back online.",
  busy: "The assistant is busy right now. Your question is kept: retry in a moment.",
  timeout: "The answer took too long. Your question is kept: retry, or ask it differently.",
  unauthorized: "This server only answers callers with an API key, so this page cannot chat.",
  failed: "Something went wrong while answering. Your question is kept: retry.",
};

function startCooldown(seconds, notice, retry) {
  const text = notice.querySelector(".notice-text");
  retry.disabled = true;
  ui.send.disabled = true;
  state.cooldown = seconds;
  const tick = () => {
    if (state.cooldown <= 0) {
      text.textContent = "You can ask again now.";
      retry.disabled = false;
      ui.send.disabled = false;
      announce("You can ask again now.");
      return;
    }
    text.textContent = `Too many questions at once. You can ask again in ${state.cooldown} s.`;
    state.cooldown -= 1;
    setTimeout(tick, 1000);
  };
  tick();
  announce(text.textContent);
}

function showFailure(error, question, answer) {
  if (answer && !answer.querySelector(".bubble").textContent) answer.remove();
  else if (answer) finishAnswer(answer, "failed");
  const kind = error.kind;
  const notice = noticeItem(
    kind === "invalid" ? error.message : MESSAGES[kind] || MESSAGES.failed,
    kind === "unauthorized" || kind === "invalid" ? null : { label: "Retry", run: () => retry(notice, question) },
  );
  notice.dataset.kind = kind;
  append(notice);
  if (kind === "rate_limited") startCooldown(Math.max(1, error.retryAfter || 1), notice, notice.querySelector("button"));
  else announce(notice.textContent);
}

function retry(notice, question) {
  notice.remove();
  ask(question, { echo: false });
}

// Sends `question` and paints its answer. `echo: false` when the question
// is already on screen (a retry).
async function ask(question, { echo = true } = {}) {
  if (state.controller || state.cooldown > 0 || !question.trim()) return;
  clearNotices();
  if (echo) append(userItem(question));
  const answer = answerItem(state.site.name);
  append(answer);
  const controller = (state.controller = new AbortController());
  setBusy(true);
  let text = "";
  let painted = 0;
  let frame = 0;
  const paint = () => {
    frame = 0;
    if (painted === text.length) return;
    const follow = nearBottom();
    painted = text.length;
    setAnswerText(answer, text);
    if (follow) scrollToEnd();
  };
  try {
    let done;
    for (let attempt = 0; ; attempt++) {
      try {
        done = await streamChat({
          message: question,
          sessionId: store.sessionId(),
          signal: controller.signal,
          onMeta: (meta) => meta.session_id && store.setSessionId(meta.session_id),
          onToken: (piece) => {
            text += piece;
            frame ||= requestAnimationFrame(paint);
          },
        });
        break;
      } catch (e) {
        // An expired session starts a new one; what is on screen stays.
        if (e.kind !== "session_expired" || attempt > 0) throw e;
        store.setSessionId("");
      }
    }
    cancelAnimationFrame(frame);
    paint();
    store.setSessionId(done.session_id);
    setSources(answer, done.sources);
    const reason = done.degraded ? done.degraded_reason || "upstream_unavailable" : null;
    const body = answerBody(text, reason);
    if (body !== text) setAnswerText(answer, body);
    finishAnswer(answer, "done", reason);
    store.rememberAnswer(text, done);
    const note = answer.querySelector(".note");
    announce(`${note ? note.textContent + " " : ""}${plainText(body)}`);
  } catch (e) {
    cancelAnimationFrame(frame);
    paint();
    if (e instanceof ChatError && e.kind === "aborted") {
      finishAnswer(answer, "stopped");
      announce("Stopped.");
    } else {
      showFailure(e instanceof ChatError ? e : new ChatError("failed", String(e)), question, answer);
    }
  } finally {
    state.controller = null;
    setBusy(false);
  }
}

function stop() {
  state.controller?.abort();
}

async function newConversation() {
  stop();
  const id = store.sessionId();
  store.setSessionId("");
  showEmptyConversation();
  ui.input.focus();
  announce("New conversation.");
  if (id) deleteSession(id).catch(() => {}); // forgotten here either way; the server's copy expires
}

// ---------------------------------------------------------------- restoring

async function restore() {
  const id = store.sessionId();
  if (!id) return;
  let session;
  try {
    session = await loadSession(id);
  } catch (e) {
    append(noticeItem("Your earlier conversation could not be loaded.", { label: "Retry", run: () => location.reload() }));
    return;
  }
  if (!session) {
    store.setSessionId(""); // expired: start afresh
    return;
  }
  clearNotices();
  for (const m of session.messages || []) {
    if (m.role === "user") {
      ui.log.append(userItem(m.content));
    } else {
      const item = answerItem(state.site.name);
      const known = store.recallAnswer(m.content);
      setAnswerText(item, answerBody(m.content, known?.degraded_reason));
      setSources(item, known?.sources);
      finishAnswer(item, "done", known?.degraded_reason);
      ui.log.append(item);
    }
  }
  scrollToEnd();
}

// ---------------------------------------------------------------- wiring

function autosize() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 160)}px`;
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = ui.input.value;
  if (state.controller || state.cooldown > 0 || !question.trim()) return;
  ui.input.value = "";
  autosize();
  ask(question);
});
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});
ui.input.addEventListener("input", autosize);
ui.stop.addEventListener("click", stop);
ui.fresh.addEventListener("click", newConversation);
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (state.controller) stop();
  else if (widget) parent.postMessage({ type: "folio:close" }, "*");
});
if (widget) {
  ui.close.addEventListener("click", () => parent.postMessage({ type: "folio:close" }, "*"));
  // The loader asks for focus when it opens the panel.
  window.addEventListener("message", (event) => {
    if (event.source === parent && event.data?.type === "folio:focus") ui.input.focus();
  });
}
window.addEventListener("online", () => {
  const notice = ui.log.querySelector('.notice[data-kind="offline"] .notice-text');
  if (notice) notice.textContent = "You are back online: retry when you are ready.";
});

async function main() {
  // Handlers are attached: a question typed now is sent. (bench/web_bench.sh reads these marks.)
  performance.mark("folio:interactive");
  try {
    applySite(await loadSite());
  } catch {
    applySite(state.site);
  }
  showEmptyConversation();
  await restore();
  document.documentElement.dataset.ready = "true";
  performance.mark("folio:ready");
}

main();
