// lib.mjs: what the browser checks share — Debian's chromium launched once
// by playwright-core with a fresh profile, pages that record every console
// error and CSP violation, axe-core, the mock upstream's HTTP controls, a
// poll-with-deadline, and the report the C++ test reads (one RESULTS line of
// JSON: each scenario's name, ok, figures, or its error).
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

export const CHROMIUM_FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run",
];

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_FLAGS });
}

// A page in its own context (fresh storage), with `problems`: every console
// error, uncaught exception and CSP violation of the page and its frames.
export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  return { context, page, problems };
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Polls `fn` (sync or async) until it returns a truthy value; that value, or
// an error naming `what` after `ms`.
export async function until(fn, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// The mock upstream's controls (tests/support/mock_llm.h).
export function mock(base) {
  const call = async (path, body) => {
    const r = await fetch(base + path, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`mock ${path}: ${r.status} ${await r.text()}`);
    return r.json().catch(() => ({}));
  };
  return {
    script: (s) => call("/_mock/script", s),
    stats: () => call("/_mock/stats"),
    reset: () => call("/_mock/reset", {}),
  };
}

const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

// axe-core's serious and critical violations in `frame` (a Page or Frame),
// as "rule: target" strings. Injected through the DevTools protocol, which
// the page's CSP does not govern.
export async function axeSerious(frame) {
  if (!(await frame.evaluate(() => typeof window.axe === "object"))) await frame.evaluate(AXE_SOURCE);
  const violations = await frame.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(" ")) }))));
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.targets.slice(0, 3).join(", ")}`);
}

export function screenshotDir() {
  const dir = env("SCREENSHOT_DIR");
  mkdirSync(dir, { recursive: true });
  return dir;
}

const results = [];

// Runs one scenario; its return value (an object of figures) is reported.
export async function scenario(name, fn) {
  const started = Date.now();
  try {
    const figures = (await fn()) || {};
    results.push({ name, ok: true, ms: Date.now() - started, ...figures });
    console.log(`ok    ${name} (${Date.now() - started} ms) ${JSON.stringify(figures)}`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - started, error: String(e?.stack || e) });
    console.log(`FAIL  ${name}: ${e?.stack || e}`);
  }
}

export function report() {
  console.log("RESULTS " + JSON.stringify(results));
  return results.every((r) => r.ok) ? 0 : 1;
}

// Text of `selector` in `frame`, or "" when absent.
export function textOf(frame, selector) {
  return frame.evaluate((s) => document.querySelector(s)?.textContent ?? "", selector);
}
