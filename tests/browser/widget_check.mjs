// widget_check.mjs: the widget on other sites, in a real browser. Serves a
// host page on two more origins of its own (HOST_ALLOWED is in the stack's
// CORS_ORIGINS, HOST_OTHER is not), each with a strict CSP that allows
// folio's origin for scripts, fetches and frames only, and hostile styles.
// Environment: FOLIO (the stack), HOST_ALLOWED and HOST_OTHER (ports),
// MOCK, SCREENSHOT_DIR. Prints a RESULTS line; exit 0 when all passed.
import { createServer } from "node:http";
import { axeSerious, check, env, launch, mock, openPage, report, scenario, screenshotDir, until } from "./lib.mjs";

const FOLIO = env("FOLIO");
const shots = screenshotDir();
const upstream = mock(env("MOCK"));

const HOST_CSS = `
  * { font-family: "Comic Sans MS", cursive !important; letter-spacing: 3px !important; }
  button { background: rgb(255, 255, 0) !important; color: rgb(0, 0, 0) !important; border-radius: 0 !important; }
  div { transform: translateZ(0); padding: 7px; }
  iframe { border: 9px dashed red !important; }`;
// Runs before the deferred widget.js: the page's own globals, to compare after.
const HOST_JS = `window.__hostGlobals = Object.keys(window);`;
const hostPage = () => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A portfolio</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/host.css"><script src="/host.js"></script>
<script src="${FOLIO}/widget.js" defer></script></head>
<body><main><h1>A portfolio</h1><p>Some work.</p><button id="host-button" type="button">Host button</button></main></body></html>`;

function serveHost(port) {
  const csp = `default-src 'none'; script-src 'self' ${FOLIO}; style-src 'self'; connect-src ${FOLIO}; ` +
              `frame-src ${FOLIO}; img-src 'self'; base-uri 'none'; form-action 'none'`;
  const server = createServer((req, res) => {
    const files = { "/": ["text/html", hostPage()], "/host.css": ["text/css", HOST_CSS], "/host.js": ["text/javascript", HOST_JS] };
    if (req.url === "/favicon.ico") return res.writeHead(204).end();
    const file = files[req.url];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": file[0], "Content-Security-Policy": csp }).end(file[1]);
  });
  return new Promise((resolve) => server.listen(Number(port), "127.0.0.1", () => resolve(server)));
}

const allowed = `http://127.0.0.1:${env("HOST_ALLOWED")}`;
const other = `http://127.0.0.1:${env("HOST_OTHER")}`;
const servers = [await serveHost(env("HOST_ALLOWED")), await serveHost(env("HOST_OTHER"))];
const browser = await launch();

const launcher = (page) => page.locator("[data-folio-widget] button.launcher");

async function widgetFrame(page) {
  return until(() => page.frames().find((f) => f.url().startsWith(`${FOLIO}/widget.html`)), "the widget's frame");
}

await scenario("on a listed origin the widget works under the host's strict CSP, isolated both ways", async () => {
  await upstream.reset();
  await upstream.script({ chat: { default: { reply: "Tollgate is **a rate limiter**.", token_delay_ms: 20 } } });
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${allowed}/`);
  await until(async () => ((await launcher(page).getAttribute("aria-label")) || "").startsWith("Chat with"), "the launcher");
  const name = (await launcher(page).getAttribute("aria-label")).replace("Chat with ", "");
  // Host styles do not reach the widget; the widget changes nothing of the host's.
  const look = await page.evaluate(() => {
    const host = document.querySelector("[data-folio-widget]");
    const b = host.shadowRoot.querySelector("button.launcher");
    const hostButton = getComputedStyle(document.getElementById("host-button"));
    return {
      launcherBg: getComputedStyle(b).backgroundColor, launcherFont: getComputedStyle(b).fontFamily,
      hostButtonBg: hostButton.backgroundColor, hostFont: getComputedStyle(document.body).fontFamily,
      newGlobals: Object.keys(window).filter((k) => !window.__hostGlobals.includes(k) && k !== "__hostGlobals"),
      rect: b.getBoundingClientRect().toJSON(),
    };
  });
  check(look.launcherBg !== "rgb(255, 255, 0)", `the host's button style reached the launcher: ${look.launcherBg}`);
  check(look.hostButtonBg === "rgb(255, 255, 0)" && look.hostFont.includes("Comic"), "the widget changed the host's styles");
  check(look.newGlobals.length === 0, `the widget defined globals: ${look.newGlobals}`);
  check(look.rect.right > 1200 && look.rect.bottom > 700, `the launcher is not at the bottom right: ${JSON.stringify(look.rect)}`);
  check((await axeSerious(page)).length === 0, `axe on the host page with the launcher: ${await axeSerious(page)}`);

  // Keyboard: Tab reaches the launcher; Enter opens the panel with focus in the chat.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement?.matches("[data-folio-widget]"))) break;
  }
  check(await page.evaluate(() => document.activeElement?.matches("[data-folio-widget]")), "Tab never reached the launcher");
  await page.keyboard.press("Enter");
  const frame = await widgetFrame(page);
  await frame.waitForSelector("html[data-ready=true]");
  await until(() => frame.evaluate(() => document.activeElement?.id === "input"), "focus in the chat's input");
  check(await page.evaluate(() => {
    const f = document.querySelector("[data-folio-widget]").shadowRoot.querySelector("iframe");
    return f.contentDocument === null;
  }), "the host page can read the chat's document");
  check((await frame.locator("#title").textContent()) === name, "the frame shows the owner's name");
  await page.keyboard.type("What is Tollgate?");
  await page.keyboard.press("Enter");
  await until(async () => (await frame.locator(".msg.bot:not(.greeting)[data-state=done]").count()) === 1, "the answer in the widget");
  check((await frame.locator(".msg.bot:not(.greeting) > .bubble strong").textContent()) === "a rate limiter", "Markdown in the widget");
  check((await frame.locator(".msg.bot:not(.greeting) .sources summary").count()) >= 1, "sources in the widget");
  await frame.locator(".msg.bot:not(.greeting) .sources summary").first().click();
  const inFrame = await axeSerious(frame);
  check(inFrame.length === 0, `axe in the open widget: ${inFrame}`);
  await page.screenshot({ path: `${shots}/widget-desktop.png` });
  // Escape closes the panel and gives the focus back to the launcher.
  await frame.locator("#input").focus();
  await page.keyboard.press("Escape");
  await until(() => page.evaluate(() => document.querySelector("[data-folio-widget]").shadowRoot.querySelector(".panel").hidden), "the panel to close");
  check(await page.evaluate(() => document.activeElement?.matches("[data-folio-widget]")), "focus did not return to the launcher");
  check(problems.length === 0, `console errors or CSP violations: ${problems.join(" | ")}`);
  await context.close();
  return { assistant_name: name };
});

await scenario("on a phone (360 px) the open widget fills the screen and passes axe", async () => {
  const { context, page, problems } = await openPage(browser, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  await page.goto(`${allowed}/`);
  await until(async () => ((await launcher(page).getAttribute("aria-label")) || "").startsWith("Chat with"), "the launcher");
  await launcher(page).click();
  const frame = await widgetFrame(page);
  await frame.waitForSelector("html[data-ready=true]");
  const box = await page.evaluate(() => document.querySelector("[data-folio-widget]").shadowRoot.querySelector(".panel").getBoundingClientRect().toJSON());
  check(box.width === 360 && box.height === 740, `panel ${JSON.stringify(box)}`);
  check((await frame.evaluate(() => document.documentElement.scrollWidth)) <= 360, "the chat scrolls sideways");
  const serious = [...(await axeSerious(page)), ...(await axeSerious(frame))];
  check(serious.length === 0, `axe: ${serious}`);
  await page.screenshot({ path: `${shots}/widget-phone.png` });
  check(problems.length === 0, `console errors or CSP violations: ${problems.join(" | ")}`);
  await context.close();
  return {};
});

await scenario("on an unlisted origin the widget says what the owner must change", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${other}/`);
  await launcher(page).waitFor();
  await until(() => problems.some((p) => p.includes("CORS_ORIGINS")), "the owner's console message");
  await launcher(page).click();
  const error = page.locator("[data-folio-widget] .error");
  await error.waitFor();
  const text = await error.textContent();
  check(text.includes("CORS_ORIGINS") && text.includes(other), `the message: "${text}"`);
  check(!page.frames().some((f) => f.url().startsWith(`${FOLIO}/widget.html`)), "the chat was opened anyway");
  check((await axeSerious(page)).length === 0, "axe on the error panel");
  // Framing the chat directly is refused too (CSP frame-ancestors).
  await page.evaluate((src) => {
    const f = document.createElement("iframe");
    f.src = src;
    document.body.append(f);
  }, `${FOLIO}/widget.html`);
  await until(() => problems.some((p) => /frame-ancestors|Refused to (display|frame)/i.test(p)), "the browser to refuse the frame");
  const cspProblems = problems.filter((p) => p.startsWith("CSP violation"));
  check(cspProblems.length === 0, `the loader broke the host's CSP: ${cspProblems}`);
  await context.close();
  return { message: text };
});

await browser.close();
servers.forEach((s) => s.close());
process.exit(report());
