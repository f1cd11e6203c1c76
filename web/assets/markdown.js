// markdown.js: the small Markdown dialect model answers use, rendered by
// building DOM nodes: paragraphs, line breaks, lists, block quotes, code
// blocks, inline code, emphasis, strong text and links. No string ever
// reaches innerHTML, so model output (or a passage) cannot inject markup;
// links are kept only for http(s) URLs and open in a new tab with
// rel="noopener noreferrer". Safe to call on a partial answer while it
// streams: an unclosed marker shows as the characters typed so far.

// Inline: `code`, **strong**, __strong__, *em*, _em_, [text](url), bare URLs.
const INLINE = new RegExp(
  [
    "(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)", // 1, 2: code
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 3: strong
    "(?<![\\p{L}\\p{N}_])__(?=\\S)([\\s\\S]*?\\S)__(?![\\p{L}\\p{N}_])", // 4: strong
    "\\*(?=[^\\s*])([\\s\\S]*?[^\\s*])\\*", // 5: em
    "(?<![\\p{L}\\p{N}_])_(?=[^\\s_])([\\s\\S]*?[^\\s_])_(?![\\p{L}\\p{N}_])", // 6: em
    "\\[([^\\]\\n]+)\\]\\(\\s*<?((?:[^()\\s<>]|\\([^()\\s]*\\))+)>?(?:\\s+\"[^\"]*\")?\\s*\\)", // 7, 8: link (one level of parentheses in the URL)
    "(https?:\\/\\/[^\\s<>()\\[\\]]*[^\\s<>()\\[\\].,;:!?'\"*_])", // 9: bare URL
  ].join("|"),
  "gu",
);

// The URL if it is absolute http(s), else null (javascript:, data:, relative…).
export function safeUrl(href) {
  try {
    const url = new URL(href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, children, textFallback) {
  const url = safeUrl(href);
  if (!url) return document.createTextNode(textFallback);
  const a = document.createElement("a");
  a.href = url;
  a.rel = "noopener noreferrer";
  a.target = "_blank";
  a.append(...children);
  return a;
}

function wrap(tag, text) {
  const e = document.createElement(tag);
  e.append(...inline(text));
  return e;
}

// Nodes for one run of inline text.
export function inline(text) {
  const out = [];
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > at) out.push(document.createTextNode(text.slice(at, m.index)));
    at = m.index + m[0].length;
    if (m[2] !== undefined) {
      const code = document.createElement("code");
      code.textContent = m[2].replace(/^ (.*) $/s, "$1");
      out.push(code);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      out.push(wrap("strong", m[3] ?? m[4]));
    } else if (m[5] !== undefined || m[6] !== undefined) {
      out.push(wrap("em", m[5] ?? m[6]));
    } else if (m[7] !== undefined) {
      out.push(link(m[8], inline(m[7]), m[7]));
    } else {
      out.push(link(m[9], [document.createTextNode(m[9])], m[9]));
    }
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}

// Inline text whose single newlines are line breaks.
function lines(text) {
  const out = [];
  text.split("\n").forEach((line, i) => {
    if (i > 0) out.push(document.createElement("br"));
    out.push(...inline(line));
  });
  return out;
}

const FENCE = /^\s{0,3}(```|~~~)/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBER = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;

// A DocumentFragment for `source`.
export function renderMarkdown(source) {
  const root = document.createDocumentFragment();
  const src = source.replace(/\r\n?/g, "\n").split("\n");
  let para = null; // lines of the open paragraph
  let list = null; // the open <ul>/<ol> and its last item's text
  const closePara = () => {
    if (para) root.append(wrapBlock("p", lines(para.join("\n"))));
    para = null;
  };
  const closeList = () => {
    if (list) {
      list.items.forEach((t) => list.el.append(wrapBlock("li", lines(t))));
      root.append(list.el);
    }
    list = null;
  };
  for (let i = 0; i < src.length; i++) {
    const line = src[i];
    let m;
    if (FENCE.test(line)) {
      closePara();
      closeList();
      const fence = line.trim().slice(0, 3);
      const body = [];
      for (i++; i < src.length && !src[i].trim().startsWith(fence); i++) body.push(src[i]);
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      code.textContent = body.join("\n");
      pre.append(code);
      root.append(pre);
    } else if (!line.trim()) {
      closePara();
      if (list && i + 1 < src.length && (BULLET.test(src[i + 1]) || NUMBER.test(src[i + 1]))) continue;
      closeList();
    } else if ((m = line.match(BULLET)) || (m = line.match(NUMBER))) {
      closePara();
      const ordered = m.length === 3;
      const tag = ordered ? "OL" : "UL";
      if (!list || list.el.tagName !== tag) {
        closeList();
        list = { el: document.createElement(tag), items: [] };
        if (ordered && m[1] !== "1") list.el.start = Number(m[1]);
      }
      list.items.push(ordered ? m[2] : m[1]);
    } else if (list && /^\s+\S/.test(line)) {
      list.items[list.items.length - 1] += "\n" + line.trim();
    } else if ((m = line.match(HEADING))) {
      closePara();
      closeList();
      const p = document.createElement("p");
      p.className = "md-heading";
      p.append(wrap("strong", m[1]));
      root.append(p);
    } else if ((m = line.match(QUOTE))) {
      closePara();
      closeList();
      const quoted = [m[1]];
      while (i + 1 < src.length && (m = src[i + 1].match(QUOTE))) quoted.push(m[1]), i++;
      const q = document.createElement("blockquote");
      q.append(renderMarkdown(quoted.join("\n")));
      root.append(q);
    } else {
      closeList();
      (para ??= []).push(line);
    }
  }
  closePara();
  closeList();
  return root;
}

function wrapBlock(tag, children) {
  const e = document.createElement(tag);
  e.append(...children);
  return e;
}

// The text a screen reader should hear for an answer: the rendered words.
export function plainText(source) {
  const box = document.createElement("div");
  box.append(renderMarkdown(source));
  return box.textContent.replace(/\s+/g, " ").trim();
}
