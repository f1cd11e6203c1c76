// widget.js: folio on another site, with one tag:
//   <script src="https://FOLIO/widget.js" defer></script>
// Adds a launcher button (bottom right) that opens the chat in a panel. The
// panel is an <iframe> of FOLIO/widget.html, so the chat runs on folio's own
// origin, under folio's own CSP, isolated from the host page both ways:
// neither side's styles or scripts can reach the other, and the host page
// cannot read the conversation. The launcher lives in a shadow root
// styled by a constructed stylesheet (no <style> element, no inline style
// attribute), so a host page whose CSP allows folio's origin for scripts,
// fetches and frames (script-src, connect-src, frame-src) needs nothing else.
// It first fetches FOLIO/site.json across origins: folio answers it for the
// sites in CORS_ORIGINS only (and frames widget.html only for them), so an
// unlisted site gets a panel that says what the owner must change. Defines
// no globals.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.src) return;
  const folio = new URL(script.src).origin;
  const here = location.origin;

  const CSS = `
    :host { all: initial; }
    .launcher {
      position: fixed; right: 20px; bottom: 20px; z-index: 2147483646;
      width: 56px; height: 56px; border-radius: 50%; border: 2px solid var(--accent-text);
      background: var(--accent); color: var(--accent-text); cursor: pointer; padding: 0;
      box-shadow: 0 4px 14px rgba(0,0,0,.3); display: grid; place-items: center;
    }
    .launcher:focus-visible { outline: 3px solid #1d4fb8; outline-offset: 3px; }
    .launcher svg { width: 28px; height: 28px; }
    .panel {
      position: fixed; right: 20px; bottom: 88px; z-index: 2147483647;
      width: min(400px, calc(100vw - 40px)); height: min(640px, calc(100vh - 112px));
      border: 1px solid #c9ced6; border-radius: 16px; overflow: hidden; background: #fff;
      box-shadow: 0 8px 30px rgba(0,0,0,.3);
    }
    .panel[hidden] { display: none; }
    .panel iframe { width: 100%; height: 100%; border: 0; display: block; }
    .error {
      font: 15px/1.5 system-ui, sans-serif; color: #15171a; padding: 16px 20px;
      overflow-wrap: anywhere;
    }
    .error h2 { font-size: 17px; margin: 0 0 8px; }
    .error code { background: #e9ebef; padding: 1px 4px; border-radius: 4px; }
    @media (max-width: 480px) {
      .panel { right: 0; bottom: 0; width: 100vw; height: 100%; border-radius: 0; border: 0; }
      .panel:not([hidden]) ~ .launcher { display: none; }
    }
    @media (prefers-color-scheme: dark) {
      .panel { background: #121418; border-color: #454c57; }
      .error { color: #e9ebef; }
      .error code { background: #2a2f37; }
    }`;

  const host = document.createElement("div");
  host.setAttribute("data-folio-widget", "");
  // Inline and !important: beats any rule of the page's for this element
  // (a transform there would move the fixed launcher).
  host.style.setProperty("all", "initial", "important");
  // Open, so that accessibility checkers see the launcher; the conversation
  // itself is in the cross-origin frame, out of the host page's reach.
  const root = host.attachShadow({ mode: "open" });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    return; // a browser without constructable stylesheets: no widget rather than a broken one
  }

  const panel = document.createElement("div");
  panel.className = "panel";
  panel.id = "folio-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Chat");

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "folio-panel");
  launcher.setAttribute("aria-label", "Open chat");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H11l-5 4v-4h.5A2.5 2.5 0 0 1 4 13.5z");
  svg.append(path);
  launcher.append(svg);
  root.append(panel, launcher);

  let site = null;   // folio's site.json, once folio has agreed to talk to this site
  let problem = "";  // why not: "not_allowed" | "unreachable"
  let frame = null;

  function setColours(accent, text) {
    host.style.setProperty("--accent", /^#[0-9a-f]{6}$/.test(accent) ? accent : "#2457c5");
    host.style.setProperty("--accent-text", /^#[0-9a-f]{6}$/.test(text) ? text : "#ffffff");
  }
  setColours();

  // The owner's view of a refusal: what happened and the one setting to change.
  function showProblem() {
    const box = document.createElement("div");
    box.className = "error";
    box.setAttribute("role", "alert");
    const title = document.createElement("h2");
    const text = document.createElement("p");
    if (problem === "not_allowed") {
      title.textContent = "This site may not use this chat yet";
      const code = document.createElement("code");
      code.textContent = here;
      text.append("The folio server at " + folio + " does not allow ", code,
        ". Site owner: add it to CORS_ORIGINS on that server and restart it.");
    } else {
      title.textContent = "The chat is unavailable";
      text.textContent = "The folio server at " + folio + " could not be reached. Try again later.";
    }
    box.append(title, text);
    panel.replaceChildren(box);
    console.error("folio widget: " + text.textContent);
  }

  function open() {
    if (!panel.hidden) return;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat");
    if (!site) {
      showProblem();
      return;
    }
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = folio + "/widget.html";
      frame.title = site.name + " chat";
      frame.allow = "clipboard-write";
      frame.addEventListener("load", () => frame.contentWindow.postMessage({ type: "folio:focus" }, folio));
      panel.append(frame);
    } else {
      frame.contentWindow.postMessage({ type: "folio:focus" }, folio);
    }
    frame.focus();
  }

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", site ? "Chat with " + site.name : "Open chat");
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  panel.addEventListener("keydown", (e) => e.key === "Escape" && close());
  window.addEventListener("message", (e) => {
    if (frame && e.source === frame.contentWindow && e.origin === folio && e.data && e.data.type === "folio:close") close();
  });

  // Allowed sites get site.json with CORS headers. A refusal and an outage
  // both reject the fetch; a no-cors request tells them apart (it reaches a
  // server that is up, whatever that server's CORS answer).
  fetch(folio + "/site.json", { mode: "cors", credentials: "omit" })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error("status " + r.status))))
    .then((s) => {
      site = s;
      setColours(s.accent, s.accent_text);
      launcher.setAttribute("aria-label", "Chat with " + s.name);
      panel.setAttribute("aria-label", s.name + " chat");
    })
    .catch(() =>
      fetch(folio + "/site.json", { mode: "no-cors", credentials: "omit" }).then(
        () => { problem = "not_allowed"; },
        () => { problem = "unreachable"; }))
    .finally(() => {
      if (problem === "not_allowed") console.error("folio widget: " + here + " is not in CORS_ORIGINS of " + folio);
      if (!panel.hidden && !site) showProblem();
    });

  (document.body || document.documentElement).append(host);
})();
