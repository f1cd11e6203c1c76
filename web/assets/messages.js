// messages.js: the conversation's items as DOM nodes — a visitor's question,
// an answer (Markdown, its degraded note, its sources each opening onto the
// passage it came from), and notices (errors with their Retry). All text is
// set as text: nothing here parses HTML. An answer's element carries
// data-state: "streaming", then "done", "stopped" or "failed".

import { renderMarkdown } from "./markdown.js";

// el("p", {className, attrs: {"aria-x": …}, dataset: {…}}, "text", child…):
// an element with properties, attributes and children (strings become text).
export function el(tag, props = {}, ...children) {
  const { attrs = {}, dataset = {}, ...rest } = props;
  const e = Object.assign(document.createElement(tag), rest);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  Object.assign(e.dataset, dataset);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

// What a degraded answer says about itself: no model configured is a normal
// mode; the day's AI budget spent is the owner's choice; any other reason
// means the AI service is failing.
export function degradedNote(reason) {
  if (!reason) return null;
  if (reason === "llm_not_configured")
    return el("p", { className: "note note-info" }, "No AI model is configured — here is what the knowledge base says.");
  if (reason === "budget_exhausted")
    return el("p", { className: "note note-info" }, "Today's AI budget is used up — here is what the knowledge base says.");
  return el("p", { className: "note note-warn" }, "The AI service is failing right now — here is what the knowledge base says.");
}

// A degraded answer's text opens with why for clients that show no note
// ("The AI service is not answering right now; from the knowledge base: …").
// Beside its own note the page leaves that clause out, so the answer says
// why once.
const STATUS_LEAD = /^(?:The AI service is not answering right now|The assistant's daily budget is spent)(?:; from the knowledge base: |, and )/;
export function answerBody(text, reason) {
  if (!reason) return text; // no note: the text is all there is
  return text.replace(STATUS_LEAD, (lead) => (lead.endsWith(", and ") ? "" : "From the knowledge base: "));
}

export function userItem(text) {
  return el("li", { className: "msg user" }, el("p", { className: "sr-only" }, "You:"), el("div", { className: "bubble" }, text));
}

// An answer item; update it with setAnswerText / finishAnswer.
export function answerItem(label) {
  const item = el("li", { className: "msg bot", dataset: { state: "streaming" } });
  item.append(el("p", { className: "sr-only" }, `${label}:`), el("div", { className: "bubble md" }));
  return item;
}

export function setAnswerText(item, text) {
  item.querySelector(".bubble").replaceChildren(renderMarkdown(text));
}

// One source: heading and file; opening it shows the passage the answer used.
function sourceItem(s) {
  const title = s.heading ? `${s.heading} — ${s.source}` : s.source;
  // The knowledge base is Markdown too: rendered the same safe way.
  const passage = el("div", { className: "passage md" }, renderMarkdown(String(s.text || "")));
  if (!passage.childNodes.length) passage.append(el("p", {}, "(The passage is not available.)"));
  return el("li", {}, el("details", {}, el("summary", {}, title), passage));
}

export function setSources(item, sources) {
  item.querySelector(".sources")?.remove();
  if (!sources?.length) return;
  const id = `src-${Math.random().toString(36).slice(2, 10)}`;
  item.append(
    el("div", { className: "sources" },
      el("p", { className: "sources-title", id }, sources.length === 1 ? "Source" : `Sources (${sources.length})`),
      el("ul", { attrs: { "aria-labelledby": id } }, ...sources.map(sourceItem))),
  );
}

// state: "done" | "stopped" | "failed"; reason: a degraded answer's reason.
export function finishAnswer(item, state, reason) {
  item.dataset.state = state;
  item.querySelector(".note")?.remove();
  const note = degradedNote(reason);
  if (note) item.querySelector(".bubble").before(note);
  if (state === "stopped") item.append(el("p", { className: "msg-state" }, "Stopped."));
}

// A notice under the conversation: text and an optional action button.
export function noticeItem(text, action) {
  const item = el("li", { className: "msg notice" }, el("p", { className: "notice-text" }, text));
  if (action) item.append(el("button", { type: "button", className: "secondary", onclick: action.run }, action.label));
  return item;
}
