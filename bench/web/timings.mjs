// timings.mjs: the chat page's load and first-token figures in Debian's
// chromium (bench/web_bench.sh runs it against a stack and mock-llm).
// Usage: node timings.mjs PAGE_URL MOCK_ROOT RUNS FIRST_TOKEN_MS
// Prints one JSON object:
//   transfer_bytes / body_bytes: what a cold first load moves (every response
//     the page needs, as the network counted it / gzipped bodies);
//   interactive_ms: navigation start to the "folio:interactive" mark (the
//     handlers attached: a question typed now is sent), median of RUNS cold loads;
//   ready_ms: to "folio:ready" (settings applied, conversation restored);
//   first_token_ms: Enter to the first answer text painted (the next
//     animation frame after it entered the DOM), median of RUNS questions,
//     with the mock sending its first token FIRST_TOKEN_MS after its headers;
//     overhead_ms is that minus FIRST_TOKEN_MS.
import { chromium } from "playwright-core";

const [url, mockRoot, runsArg, firstTokenArg] = process.argv.slice(2);
const runs = Number(runsArg || 10);
const firstToken = Number(firstTokenArg || 300);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"],
});
await fetch(`${mockRoot}/_mock/script`, { method: "POST",
  body: JSON.stringify({ chat: { default: { first_token_ms: firstToken, token_delay_ms: 20 } } }) });

const out = { runs, mock_first_token_ms: firstToken };

// Transfer, counted by the DevTools protocol in a load of its own (its
// instrumentation would slow the timed runs).
{
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  let transfer = 0;
  cdp.on("Network.loadingFinished", (e) => (transfer += e.encodedDataLength));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("html[data-ready=true]");
  out.body_bytes = await page.evaluate(() =>
    performance.getEntriesByType("resource").reduce((n, r) => n + r.encodedBodySize, 0) +
    performance.getEntriesByType("navigation")[0].encodedBodySize);
  out.transfer_bytes = transfer;
  // One answer first, so no timed run pays the workers' first upstream connection.
  await page.fill("#input", `Warm-up ${Date.now()}`);
  await page.press("#input", "Enter");
  await page.waitForSelector(".msg.bot:not(.greeting)[data-state=done]");
  await context.close();
}

const interactive = [], ready = [], tokens = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("html[data-ready=true]");
  const marks = await page.evaluate(() => ({
    interactive: performance.getEntriesByName("folio:interactive")[0].startTime,
    ready: performance.getEntriesByName("folio:ready")[0].startTime,
  }));
  interactive.push(marks.interactive);
  ready.push(marks.ready);
  // Enter → first token painted.
  await page.evaluate(() => {
    const input = document.getElementById("input");
    input.addEventListener("keydown", (e) => e.key === "Enter" && (window.__enter = performance.now()), { capture: true });
    new MutationObserver(() => {
      const answers = document.querySelectorAll(".msg.bot:not(.greeting) .bubble");
      const last = answers[answers.length - 1];
      if (last && last.textContent && !window.__painted) requestAnimationFrame(() => (window.__painted ??= performance.now()));
    }).observe(document.getElementById("log"), { childList: true, subtree: true, characterData: true });
  });
  await page.fill("#input", `Benchmark question ${i} ${Date.now()}: what is Tollgate?`);
  await page.press("#input", "Enter");
  await page.waitForFunction(() => window.__painted);
  tokens.push(await page.evaluate(() => window.__painted - window.__enter));
  await page.waitForSelector(".msg.bot:not(.greeting)[data-state=done]");
  await context.close();
}
Object.assign(out, {
  interactive_ms: +median(interactive).toFixed(1), ready_ms: +median(ready).toFixed(1),
  first_token_ms: +median(tokens).toFixed(1), overhead_ms: +(median(tokens) - firstToken).toFixed(1),
});
console.log(JSON.stringify(out));
await browser.close();
