// page_check.mjs: the chat page (/) in a real browser against real stacks
// (started by tests/integration/web_page_test.cc) and the mock upstream.
// Environment: MAIN (stack with the mock as its LLM), NOKEY (no LLM key, the
// changed site file), LIMITED (one worker, CLIENT_MAX_CONCURRENT=1), BUSY
// (one worker, one chat thread, one queue place, REQUEST_TIMEOUT_S=3), MOCK (the
// mock's base URL), SITE_MAIN and SITE_NOKEY (the site.json each stack
// published), SCREENSHOT_DIR. Prints a RESULTS line; exit 0 when every
// scenario passed.
import { readFileSync } from "node:fs";
import { axeSerious, check, env, launch, mock, openPage, report, scenario, screenshotDir, textOf, until } from "./lib.mjs";

const MAIN = env("MAIN"), NOKEY = env("NOKEY"), LIMITED = env("LIMITED"), BUSY = env("BUSY");
const upstream = mock(env("MOCK"));
const shots = screenshotDir();
const siteMain = JSON.parse(readFileSync(env("SITE_MAIN"), "utf8"));
const siteNokey = JSON.parse(readFileSync(env("SITE_NOKEY"), "utf8"));
const browser = await launch();

const ANSWERS = ".msg.bot:not(.greeting)";

async function load(page, base) {
  await page.goto(base + "/");
  await page.waitForSelector("html[data-ready=true]");
}

// Types `question` into the page as a person would and waits for its answer
// to end (data-state done, stopped or failed); returns that state.
async function ask(page, question, { wait = true } = {}) {
  const before = await page.locator(ANSWERS).count();
  await page.locator("#input").fill(question);
  await page.locator("#input").press("Enter");
  if (!wait) return null;
  return until(() => page.evaluate(([sel, n]) => {
    const a = document.querySelectorAll(sel)[n];
    return a && a.dataset.state !== "streaming" ? a.dataset.state : null;
  }, [ANSWERS, before]), `the answer to "${question}"`, 15000);
}

// What the conversation ends with, for a failure message: the last items'
// kind, state and first words.
function lastItems(page) {
  return page.evaluate(() => [...document.querySelectorAll("#log > li")].slice(-3).map((li) =>
    `${li.className}${li.dataset.state ? ` [${li.dataset.state}]` : ""}${li.dataset.kind ? ` (${li.dataset.kind})` : ""}: ` +
    li.textContent.trim().slice(0, 80)).join(" | "));
}

// Waits for the notice of `kind`; on a timeout, says what the page shows instead.
async function waitNotice(page, kind, ms = 15000) {
  const n = page.locator(`.notice[data-kind="${kind}"]`);
  try {
    await n.waitFor({ timeout: ms });
  } catch {
    throw new Error(`no "${kind}" notice within ${ms} ms; the page ends with: ${await lastItems(page)}`);
  }
  return n;
}

function lastAnswer(page) {
  return page.locator(ANSWERS).last();
}

// Console errors of a scenario that expects none, or only the named ones.
function noProblems(problems, allowed = []) {
  const left = problems.filter((p) => !allowed.some((a) => p.includes(a)));
  check(left.length === 0, `console errors or CSP violations: ${left.join(" | ")}`);
}

async function rgb(locator, property) {
  return locator.evaluate((e, p) => getComputedStyle(e)[p], property);
}

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

const MARKDOWN_REPLY =
  "**Tollgate** is a *distributed* rate limiter written in `Go`.\n\n- shared budgets\n- 48k requests per second\n\n" +
  "Read [the write-up](https://example.com/tollgate) or [this](javascript:alert(1)) <img src=x onerror=alert(1)> today.";

const NICE_REPLY =
  "**Tollgate** is Maya's *distributed* rate limiter: a Go service with Lua scripts in Redis that shares " +
  "budgets across regions.\n\n- 48,000 requests per second at peak\n- six weeks in shadow mode before it " +
  "enforced anything\n\nMore in [the write-up](https://example.com/tollgate).";

await scenario("tokens arrive in several paints, Markdown renders safely, sources open", async () => {
  await upstream.reset();
  await upstream.script({ chat: { default: { reply: MARKDOWN_REPLY, token_delay_ms: 40 } } });
  const { context, page, problems } = await openPage(browser);
  await load(page, MAIN);
  // Samples the answer's painted length at every animation frame.
  await page.evaluate((sel) => {
    window.__paints = [];
    const sample = () => {
      const answers = document.querySelectorAll(sel);
      const a = answers[answers.length - 1];
      if (a) {
        const len = a.querySelector(".bubble").textContent.length;
        const last = window.__paints[window.__paints.length - 1];
        if (!last || last.len !== len || last.state !== a.dataset.state) window.__paints.push({ len, state: a.dataset.state });
      }
      requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  }, ANSWERS);
  check((await ask(page, "What is Tollgate?")) === "done", "the answer did not finish");
  const paints = await page.evaluate(() => window.__paints);
  const streamingPaints = paints.filter((p) => p.state === "streaming" && p.len > 0).length;
  check(streamingPaints >= 3, `only ${streamingPaints} paints before the answer completed: ${JSON.stringify(paints)}`);
  const answer = lastAnswer(page);
  const md = await answer.evaluate((a) => {
    const b = a.querySelector(".bubble");
    const links = [...b.querySelectorAll("a")].map((l) => ({ href: l.getAttribute("href"), rel: l.rel, target: l.target }));
    return {
      strong: b.querySelector("strong")?.textContent, em: b.querySelector("em")?.textContent,
      code: b.querySelector("code")?.textContent, items: b.querySelectorAll("ul > li").length,
      paragraphs: b.querySelectorAll("p").length, links, images: b.querySelectorAll("img").length,
      text: b.textContent,
    };
  });
  check(md.strong === "Tollgate" && md.em === "distributed" && md.code === "Go", `inline Markdown: ${JSON.stringify(md)}`);
  check(md.items === 2 && md.paragraphs >= 2, `blocks: ${JSON.stringify(md)}`);
  check(md.links.length === 1 && md.links[0].href === "https://example.com/tollgate", `links: ${JSON.stringify(md.links)}`);
  check(md.links[0].rel === "noopener noreferrer" && md.links[0].target === "_blank", `link attributes: ${JSON.stringify(md.links)}`);
  check(md.images === 0 && md.text.includes("<img src=x onerror=alert(1)>"), "raw HTML must show as text");
  check(md.text.includes("or this <img"), `a javascript: link must show as its text only: "${md.text}"`);
  // Sources: heading and file, each opening onto its passage.
  const summaries = answer.locator(".sources summary");
  const count = await summaries.count();
  check(count >= 1, "no sources listed");
  const first = (await summaries.first().textContent()).trim();
  check(/\.md$/.test(first) && first.includes("—"), `a source names heading and file: "${first}"`);
  check(!(await answer.locator(".passage").first().isVisible()), "a passage shows before it is opened");
  await summaries.first().click();
  await until(() => answer.locator(".passage").first().isVisible(), "the passage to open");
  const passage = (await answer.locator(".passage").first().textContent()).trim();
  check(passage.length > 40, `passage too short: "${passage}"`);
  check((await answer.getAttribute("aria-busy")) === null, "answer item is not busy");
  await page.screenshot({ path: `${shots}/page-safe-markdown.png` });
  noProblems(problems);
  await context.close();
  return { paints_before_done: streamingPaints, sources: count, passage_chars: passage.length };
});

await scenario("a 6-turn conversation survives a reload, an expired session starts anew, New conversation forgets it", async () => {
  await upstream.reset();
  const { context, page, problems } = await openPage(browser);
  await load(page, MAIN);
  const questions = ["What is Lantern?", "Where does Maya live?", "What is Driftwood?", "Which languages does she use?",
    "What did she do at Quillmark?", "How can I contact her?"];
  for (const q of questions) check((await ask(page, `${q} (turn)`)) === "done", `turn "${q}" did not finish`);
  const read = () => page.evaluate((sel) => ({
    users: [...document.querySelectorAll(".msg.user .bubble")].map((e) => e.textContent),
    answers: [...document.querySelectorAll(sel)].map((e) => e.querySelector(".bubble").textContent),
    sources: [...document.querySelectorAll(sel)].map((e) => e.querySelectorAll(".sources li").length),
  }), ANSWERS);
  const before = await read();
  check(before.users.length === 6 && before.answers.length === 6, `before reload: ${JSON.stringify(before)}`);
  await page.reload();
  await page.waitForSelector("html[data-ready=true]");
  await until(async () => (await read()).answers.length === 6, "the restored conversation");
  const after = await read();
  check(JSON.stringify(after.users) === JSON.stringify(before.users), `questions after reload: ${JSON.stringify(after.users)}`);
  check(JSON.stringify(after.answers) === JSON.stringify(before.answers), "answers after reload differ");
  check(after.sources.every((n) => n > 0), `sources after reload: ${after.sources}`);

  // The session expires on the server (deleted behind the page's back): the
  // next question starts a new one and nothing on screen is lost.
  const expired = await page.evaluate(() => localStorage.getItem("folio.session"));
  check((await fetch(`${MAIN}/api/sessions/${expired}`, { method: "DELETE" })).status === 200, "deleting the session");
  check((await ask(page, "Is she open to new roles? (after expiry)")) === "done", "no answer after the session expired");
  const id = await page.evaluate(() => localStorage.getItem("folio.session"));
  check(id && id !== expired, "no new session after the old one expired");
  check((await read()).users.length === 7, "the conversation on screen was lost when the session expired");

  check((await fetch(`${MAIN}/api/sessions/${id}`)).status === 200, "the session exists on the server");
  await page.getByRole("button", { name: "New conversation" }).click();
  check((await page.locator(".msg.user").count()) === 0, "the old questions are still shown");
  check((await page.locator(".greeting").count()) === 1, "the greeting is not shown");
  check((await page.evaluate(() => document.activeElement.id)) === "input", "focus is not in the input");
  check((await page.evaluate(() => localStorage.getItem("folio.session"))) === null, "the session id is still stored");
  await until(async () => (await fetch(`${MAIN}/api/sessions/${id}`)).status === 404, "the server to forget the session");
  noProblems(problems, ["status of 404"]);  // the question sent with the expired session
  await context.close();
  return { turns: 6, restored_messages: after.users.length + after.answers.length };
});

await scenario("Stop aborts the stream and the server cancels its upstream call", async () => {
  await upstream.reset();
  const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  await upstream.script({ chat: { default: { reply: words, token_delay_ms: 150 } } });
  const { context, page, problems } = await openPage(browser);
  await load(page, MAIN);
  const before = await upstream.stats();
  await ask(page, "Tell me everything about Spoke, slowly.", { wait: false });
  await until(async () => (await lastAnswer(page).locator(".bubble").textContent()).length > 0, "the first token");
  await page.getByRole("button", { name: "Stop" }).click();
  await until(async () => (await lastAnswer(page).getAttribute("data-state")) === "stopped", "the stopped state");
  const stats = await until(async () => {
    const s = await upstream.stats();
    return s.disconnects > before.disconnects ? s : null;
  }, "the mock to see its connection closed", 8000);
  check(stats.streams_completed === before.streams_completed, "the upstream stream ran to its end");
  check(await page.locator("#send").isVisible(), "Send is not back");
  check((await page.evaluate(() => document.activeElement.id)) === "input", "focus did not return to the input");
  noProblems(problems);
  await context.close();
  return { upstream_disconnects: stats.disconnects - before.disconnects, streams_completed: stats.streams_completed };
});

await scenario("a failing AI service is told apart from no AI model", async () => {
  await upstream.reset();
  await upstream.script({ chat: { default: { status: 500 } } });
  const failing = await openPage(browser);
  await load(failing.page, MAIN);
  check((await ask(failing.page, "What does Maya do at Nordhavn?")) === "done", "no degraded answer");
  const warn = await textOf(failing.page, `${ANSWERS} .note-warn`);
  check(warn.includes("AI service is failing right now"), `failing note: "${warn}"`);
  check((await failing.page.locator(".note-info").count()) === 0, "a failing service called 'not configured'");
  const failingText = await textOf(failing.page, `${ANSWERS} .bubble`);
  check(!failingText.includes("not answering right now"), `the failure said twice: "${failingText}"`);
  noProblems(failing.problems);
  await failing.context.close();
  await upstream.reset();

  const nokey = await openPage(browser);
  await load(nokey.page, NOKEY);
  check((await ask(nokey.page, "What does Maya do at Nordhavn?")) === "done", "no answer without a model");
  const info = await textOf(nokey.page, `${ANSWERS} .note-info`);
  check(info.includes("No AI model is configured"), `not-configured note: "${info}"`);
  check((await nokey.page.locator(".note-warn").count()) === 0, "no model called a failure");
  check((await nokey.page.locator(`${ANSWERS} .sources li`).count()) > 0, "a knowledge-base answer lists its sources");
  noProblems(nokey.problems);
  await nokey.context.close();
  return {};
});

await scenario("the owner's site file sets name, greeting, suggestions, accent and privacy note", async () => {
  const seen = {};
  for (const [base, site, key] of [[MAIN, siteMain, "main"], [NOKEY, siteNokey, "changed"]]) {
    const { context, page, problems } = await openPage(browser);
    await load(page, base);
    check((await page.title()) === site.name, `title "${await page.title()}" is not "${site.name}"`);
    check((await textOf(page, "#title")) === site.name, "header name");
    const greeting = (await textOf(page, ".greeting .bubble")).trim();
    check(greeting === site.greeting.replaceAll("**", ""), `greeting "${greeting}"`);
    const suggestions = await page.locator(".suggestion").allTextContents();
    check(JSON.stringify(suggestions) === JSON.stringify(site.suggestions), `suggestions ${JSON.stringify(suggestions)}`);
    check((await textOf(page, "#privacy")) === site.privacy_note, "privacy note");
    check((await rgb(page.locator("#send"), "backgroundColor")) === hexToRgb(site.accent), "accent colour");
    check((await rgb(page.locator("#send"), "color")) === hexToRgb(site.accent_text), "text on the accent");
    seen[key] = site.name;
    noProblems(problems);
    await context.close();
  }
  check(seen.main !== seen.changed, "the two site files must differ");
  // A suggestion is a question one click away.
  await upstream.reset();
  const { context, page, problems } = await openPage(browser);
  await load(page, MAIN);
  await page.locator(".suggestion").first().click();
  await until(async () => (await page.locator(`${ANSWERS}[data-state=done]`).count()) === 1, "the suggestion's answer");
  check((await page.locator(".msg.user .bubble").first().textContent()) === siteMain.suggestions[0], "the suggestion was not asked");
  noProblems(problems);
  await context.close();
  return seen;
});

// A chat from outside the page; resolves when it is answered.
function chatFromOutside(base, message) {
  return fetch(`${base}/api/chat`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ message }) });
}

// A chat from outside that the mock is answering now (scripted slow): the
// worker holds its chat thread and its client's concurrency slot.
// {answered}: resolves when it is answered.
async function holdChat(base, message) {
  const before = (await upstream.stats()).calls.chat_completions;
  const answered = chatFromOutside(base, message);
  await until(async () => (await upstream.stats()).calls.chat_completions > before, `"${message}" to reach the mock`);
  return { answered };
}

await scenario("a 429 shows the wait from Retry-After and recovers", async () => {
  await upstream.reset();
  await upstream.script({ chat: { queue: [{ latency_ms: 2500 }] } });
  const { context, page, problems } = await openPage(browser);
  await load(page, LIMITED);
  const held = (await holdChat(LIMITED, "A question that holds the only slot")).answered;
  await ask(page, "Is Maya open to new roles?", { wait: false });
  const notice = await waitNotice(page, "rate_limited");
  const waitText = await notice.locator(".notice-text").textContent();
  check(/again in \d+ s/.test(waitText), `no wait shown: "${waitText}"`);
  check(await page.locator("#send").isDisabled(), "Send is enabled during the wait");
  await until(async () => (await notice.locator(".notice-text").textContent()).includes("ask again now"), "the wait to end", 5000);
  check(await notice.getByRole("button", { name: "Retry" }).isEnabled(), "Retry stays disabled");
  check(await page.locator("#send").isEnabled(), "Send stays disabled");
  check((await held).ok, "the held request failed");
  await notice.getByRole("button", { name: "Retry" }).click();
  await until(async () => (await page.locator(`${ANSWERS}[data-state=done]`).count()) === 1, "the retried answer");
  check((await page.locator(".msg.user").count()) === 1, "the question was shown twice");
  noProblems(problems, ["status of 429"]);
  await context.close();
  return { wait_text: waitText };
});

await scenario("busy (503), timeout and offline each say so and keep the question", async () => {
  await upstream.reset();
  await upstream.script({ chat: { queue: [{ latency_ms: 1500 }] } });
  const { context, page, problems } = await openPage(browser);
  await load(page, BUSY);
  // The only chat thread busy and the one queue place taken: the worker
  // (X-Concurrent-Requests counts the probe itself) then answers 503 busy.
  const held = [(await holdChat(BUSY, "A question that holds the only chat thread")).answered,
                chatFromOutside(BUSY, "A question that waits in the queue")];
  await until(async () => (await fetch(`${BUSY}/ping`)).headers.get("X-Concurrent-Requests") === "3", "the second to be queued");
  await ask(page, "What is Riverbed?", { wait: false });
  const busy = await waitNotice(page, "busy");
  check((await busy.textContent()).includes("busy"), "busy message");
  check((await page.locator(".msg.user .bubble").last().textContent()) === "What is Riverbed?", "the question is gone");
  check((await Promise.all(held)).every((r) => r.ok), "a held request failed");
  await busy.getByRole("button", { name: "Retry" }).click();
  await until(async () => (await page.locator(`${ANSWERS}[data-state=done]`).count()) === 1, "the answer after busy");

  await upstream.script({ chat: { queue: [{ hang: true }] } });
  await ask(page, "What is Hivemind?", { wait: false });
  const timeout = await waitNotice(page, "timeout");
  check((await timeout.textContent()).includes("too long"), "timeout message");
  await timeout.getByRole("button", { name: "Retry" }).click();
  await until(async () => (await page.locator(`${ANSWERS}[data-state=done]`).count()) === 2, "the answer after the timeout");

  await context.setOffline(true);
  await ask(page, "What is Spoke?", { wait: false });
  const offline = await waitNotice(page, "offline");
  check((await offline.textContent()).includes("offline"), "offline message");
  await context.setOffline(false);
  await offline.getByRole("button", { name: "Retry" }).click();
  await until(async () => (await page.locator(`${ANSWERS}[data-state=done]`).count()) === 3, "the answer after coming back");
  const asked = await page.locator(".msg.user .bubble").allTextContents();
  check(JSON.stringify(asked) === JSON.stringify(["What is Riverbed?", "What is Hivemind?", "What is Spoke?"]), `questions: ${asked}`);
  noProblems(problems, ["status of 503", "ERR_INTERNET_DISCONNECTED"]);
  await context.close();
  return {};
});

// Every element keyboard focus reaches shows a visible indicator.
async function focusShows(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    const s = getComputedStyle(e);
    return { id: e.id || e.tagName.toLowerCase(), visible: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2 };
  });
}

await scenario("keyboard only: ask, read a source, start over", async () => {
  await upstream.reset();
  const { context, page, problems } = await openPage(browser);
  await load(page, MAIN);
  const visited = [];
  for (let i = 0; i < 12 && (await page.evaluate(() => document.activeElement.id)) !== "input"; i++) {
    await page.keyboard.press("Tab");
    const f = await focusShows(page);
    check(f.visible, `no visible focus on ${f.id}`);
    visited.push(f.id);
  }
  check((await page.evaluate(() => document.activeElement.id)) === "input", `Tab never reached the input: ${visited}`);
  await page.keyboard.type("What is Lantern built with?");
  await page.keyboard.press("Enter");
  await until(async () => (await page.locator(`${ANSWERS}[data-state=done]`).count()) === 1, "the answer");
  check((await page.evaluate(() => document.activeElement.id)) === "input", "the answer took the focus");
  for (let i = 0; i < 12 && (await page.evaluate(() => document.activeElement.tagName)) !== "SUMMARY"; i++)
    await page.keyboard.press("Shift+Tab");
  check((await page.evaluate(() => document.activeElement.tagName)) === "SUMMARY", "Shift+Tab never reached a source");
  check((await focusShows(page)).visible, "no visible focus on a source");
  await page.keyboard.press("Enter");
  await until(() => page.evaluate(() => document.activeElement.parentElement.open), "the source to open");
  for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement.id)) !== "new"; i++)
    await page.keyboard.press("Shift+Tab");
  check((await page.evaluate(() => document.activeElement.id)) === "new", "Shift+Tab never reached New conversation");
  await page.keyboard.press("Enter");
  await until(async () => (await page.locator(".msg.user").count()) === 0, "a new conversation");
  check((await page.evaluate(() => document.activeElement.id)) === "input", "focus after New conversation");
  const live = await page.locator("[aria-live=polite]").count();
  check(live === 1, "one polite live region");
  noProblems(problems);
  await context.close();
  return { tab_stops_to_input: visited.length };
});

await scenario("the live region announces the finished answer, not each token", async () => {
  await upstream.reset();
  await upstream.script({ chat: { default: { reply: "Lantern indexes documents in blocks for fast search.", token_delay_ms: 30 } } });
  const { context, page, problems } = await openPage(browser);
  await load(page, MAIN);
  await page.evaluate(() => {
    window.__announced = [];
    new MutationObserver(() => {
      const t = document.getElementById("announce").textContent;
      if (t) window.__announced.push(t);
    }).observe(document.getElementById("announce"), { childList: true, characterData: true, subtree: true });
  });
  await ask(page, "What does Lantern do?");
  const announced = await until(() => page.evaluate(() => window.__announced.length && window.__announced), "an announcement");
  check(announced.length === 1, `announced ${announced.length} times: ${JSON.stringify(announced)}`);
  check(announced[0].includes("Lantern indexes documents in blocks for fast search."), `announced: ${announced[0]}`);
  noProblems(problems);
  await context.close();
  return { announcements: announced.length };
});

await scenario("axe: no serious or critical violation at desktop, 360 px and dark", async () => {
  await upstream.reset();
  await upstream.script({ chat: { default: { reply: NICE_REPLY, token_delay_ms: 30 } } });
  const figures = {};
  for (const [name, options] of [["desktop", {}], ["phone", { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true }],
                                 ["dark", { colorScheme: "dark" }], ["reduced-motion", { reducedMotion: "reduce" }]]) {
    const { context, page, problems } = await openPage(browser, options);
    await load(page, MAIN);
    check((await page.evaluate(() => document.documentElement.scrollWidth)) <= (options.viewport?.width ?? 1280),
      `${name}: the page scrolls sideways`);
    await ask(page, name === "desktop" ? "What is Tollgate and what was Maya's role?" : `What is Tollgate? (${name})`, { wait: false });
    // The streaming caret blinks, except when the visitor asked for less motion.
    const caret = await until(() => page.evaluate(() => {
      const last = document.querySelector('.bot[data-state="streaming"] .bubble > :last-child');
      return last && getComputedStyle(last, "::after").animationName;
    }), `${name}: a streaming answer`);
    check(caret === (name === "reduced-motion" ? "none" : "blink"), `${name}: caret animation "${caret}"`);
    await until(async () => (await lastAnswer(page).getAttribute("data-state")) === "done", `${name}: the answer`);
    await lastAnswer(page).locator(".sources summary").first().click();
    const serious = await axeSerious(page);
    check(serious.length === 0, `${name}: ${serious.join("; ")}`);
    check((await page.evaluate(() => document.documentElement.scrollWidth)) <= (options.viewport?.width ?? 1280),
      `${name}: the answer makes the page scroll sideways`);
    if (name === "desktop") await page.screenshot({ path: `${shots}/page-desktop.png` });
    if (name === "phone") await page.screenshot({ path: `${shots}/page-phone.png` });
    if (name === "dark") await page.screenshot({ path: `${shots}/page-dark.png` });
    noProblems(problems);
    await context.close();
    figures[name] = 0;
  }
  return { serious_or_critical: figures };
});

await browser.close();
process.exit(report());
