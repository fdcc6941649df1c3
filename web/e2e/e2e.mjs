// End-to-end test of the demo page (web/www, built by web/build.sh): serves
// it on 127.0.0.1, opens it in headless Chromium (the system's, never a
// downloaded one), checks that it loads the `wasplug` package by name, runs
// each method through the form, checks what the page shows, cancels running
// calls (the Cancel button, and an AbortSignal from JS), and checks that the
// page keeps painting while prime_sieve(2000000) runs. Saves a screenshot (to
// $SCREENSHOT, default web/screenshot.png) and prints the timings.
//
//   node web/e2e/e2e.mjs            (CHROMIUM=/path/to/chromium to override)
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve, sep, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const www = resolve(here, "..", "www");
const screenshot = resolve(process.env.SCREENSHOT ?? resolve(here, "..", "screenshot.png"));
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** The longest a frame may wait while the plugin computes. */
const MAX_FRAME_GAP_MS = 100;

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
};

/** The paths the server was asked for. */
const requested = new Set();

/** A static server for `www` on 127.0.0.1 and a free port. */
async function serve(root) {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://x").pathname);
    requested.add(path);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(root + sep)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      response.end(body);
    } catch {
      response.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

/** Picks `method` in the form, sets its parameter, runs it; returns what the page shows. */
async function runInForm(page, method, param) {
  await page.selectOption("#method", method);
  if (param !== undefined) await page.fill("#param", String(param));
  await page.click("#run");
  await page.waitForFunction(
    () => !["running", "loading"].includes(document.querySelector("#status").dataset.state)
      && !document.querySelector("#run").disabled,
    null,
    { timeout: 60_000, polling: 50 },
  );
  return page.evaluate(() => ({
    state: document.querySelector("#status").dataset.state,
    status: document.querySelector("#status").textContent,
    result: document.querySelector("#result").textContent,
    time: parseFloat(document.querySelector("#time").textContent),
    hostCalls: Number(document.querySelector("#host-calls").textContent),
    log: [...document.querySelectorAll("#log li")].map((li) => li.textContent),
  }));
}

const server = await serve(www);
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const pageErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 860 } });
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(message.text());
  });
  await page.goto(url);
  await page.evaluate(() => window.wasplugDemo.ready.then(() => undefined));
  const timings = {};

  // The page loaded the package (by name, through its import map).
  for (const file of ["/node_modules/wasplug/wasplug.js", "/node_modules/wasplug/wasplug_bg.wasm"]) {
    assert.ok(requested.has(file), `the page did not load ${file}: ${[...requested].join(" ")}`);
  }

  // ping
  let shown = await runInForm(page, "ping");
  assert.equal(shown.state, "done", shown.status);
  assert.equal(JSON.parse(shown.result), "pong");

  // prime_sieve, small
  shown = await runInForm(page, "prime_sieve", 100000);
  assert.equal(shown.state, "done", shown.status);
  assert.deepEqual(JSON.parse(shown.result), { count: 9592, limit: 100000 });

  // many_echo: n round trips through the page's echo host method
  const callsBefore = shown.hostCalls;
  shown = await runInForm(page, "many_echo", 1000);
  assert.equal(shown.state, "done", shown.status);
  assert.equal(JSON.parse(shown.result), 1000);
  assert.equal(shown.hostCalls - callsBefore, 1000);
  timings.many_echo_1000_ms = shown.time;

  // sleep: waits on a browser timer
  shown = await runInForm(page, "sleep", 300);
  assert.equal(shown.state, "done", shown.status);
  assert.equal(JSON.parse(shown.result), 300);
  assert.ok(shown.time >= 299 && shown.time < 2000, `sleep(300) took ${shown.time} ms`);
  timings.sleep_300_ms = shown.time;

  // call_host → page_value: the plugin reads the page's text box
  await page.fill("#page-value", "typed into the page");
  shown = await runInForm(page, "call_host");
  assert.equal(shown.state, "done", shown.status);
  assert.equal(JSON.parse(shown.result), "typed into the page");

  // fail and panic: contained, and the plugin still answers afterwards
  shown = await runInForm(page, "fail");
  assert.equal(shown.state, "error");
  assert.match(shown.result, /^Plugin: .*deliberate failure/);
  shown = await runInForm(page, "panic");
  assert.equal(shown.state, "error");
  assert.match(shown.result, /^Trap: /);
  assert.ok(shown.log.some((line) => line.includes("deliberate panic")), shown.log.join("\n"));

  // log: stderr lines reach the page
  shown = await runInForm(page, "log", 3);
  assert.equal(shown.state, "done", shown.status);
  for (const i of [0, 1, 2]) {
    assert.ok(shown.log.includes(`[test-plugin] log line ${i}`), shown.log.join("\n"));
  }

  // The Cancel button ends a running call; the page goes on.
  await page.selectOption("#method", "prime_sieve");
  await page.fill("#param", "50000000");
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#status").dataset.state === "running");
  await page.waitForTimeout(100);
  const cancelledAt = Date.now();
  await page.click("#cancel");
  await page.waitForFunction(
    () => document.querySelector("#status").dataset.state !== "running",
    null,
    { timeout: 10_000, polling: 20 },
  );
  timings.cancel_prime_sieve_ms = Date.now() - cancelledAt;
  const cancelled = await page.evaluate(() => ({
    state: document.querySelector("#status").dataset.state,
    result: document.querySelector("#result").textContent,
    cancelDisabled: document.querySelector("#cancel").disabled,
    runDisabled: document.querySelector("#run").disabled,
  }));
  assert.equal(cancelled.state, "cancelled", cancelled.result);
  assert.match(cancelled.result, /^Cancelled: .*cancelled/);
  assert.ok(cancelled.cancelDisabled && !cancelled.runDisabled, JSON.stringify(cancelled));
  shown = await runInForm(page, "ping");
  assert.equal(shown.state, "done", shown.status);

  // Cancelling from JS, as a web app does: the promise rejects with kind
  // "Cancelled", an already aborted signal rejects at once, and the next
  // call succeeds.
  const fromJs = await page.evaluate(async () => {
    const plugin = await window.wasplugDemo.ready;
    const outcome = async (promise) => {
      const started = performance.now();
      try {
        return { ok: true, result: await promise, ms: performance.now() - started };
      } catch (error) {
        return {
          ok: false,
          isError: error instanceof Error,
          kind: error.kind,
          cause: String(error.cause),
          ms: performance.now() - started,
        };
      }
    };
    const controller = new AbortController();
    const running = plugin.call("prime_sieve", [50000000], { signal: controller.signal });
    setTimeout(() => controller.abort("user left"), 50);
    const aborted = await outcome(running);
    const preAborted = await outcome(plugin.call("sleep", [10000], { signal: AbortSignal.abort() }));
    const next = await outcome(plugin.call("prime_sieve", [1000]));
    return { aborted, preAborted, next };
  });
  assert.deepEqual(
    { ...fromJs.aborted, ms: undefined },
    { ok: false, isError: true, kind: "Cancelled", cause: "user left", ms: undefined },
  );
  assert.ok(fromJs.aborted.ms < 10_000, `the cancelled call took ${fromJs.aborted.ms} ms`);
  assert.equal(fromJs.preAborted.kind, "Cancelled");
  assert.ok(fromJs.preAborted.ms < 1_000, `a pre-aborted call took ${fromJs.preAborted.ms} ms`);
  assert.deepEqual(fromJs.next.result, { count: 168, limit: 1000 });
  timings.cancel_from_js_ms = fromJs.aborted.ms;

  // Timings of direct calls (no form), in the page.
  Object.assign(timings, await page.evaluate(async () => {
    const plugin = await window.wasplugDemo.ready;
    for (let i = 0; i < 20; i += 1) await plugin.call("ping", null);
    let started = performance.now();
    const pings = 200;
    for (let i = 0; i < pings; i += 1) await plugin.call("ping", null);
    const ping_ms = (performance.now() - started) / pings;
    started = performance.now();
    await plugin.call("prime_sieve", [100000]);
    const prime_sieve_100000_ms = performance.now() - started;
    // Round trips once the browser has compiled the host kit's hot code with
    // its optimizing tier (the form's many_echo above ran partly before).
    for (let i = 0; i < 3; i += 1) await plugin.call("many_echo", [1000]);
    started = performance.now();
    await plugin.call("many_echo", [1000]);
    const round_trip_warm_us = performance.now() - started;
    return { ping_ms, prime_sieve_100000_ms, round_trip_warm_us };
  }));

  // prime_sieve(2000000) through the form, counting animation frames meanwhile.
  await page.evaluate(() => {
    window.e2eFrames = [];
    window.e2eRecording = true;
    const record = (t) => {
      window.e2eFrames.push(t);
      if (window.e2eRecording) requestAnimationFrame(record);
    };
    requestAnimationFrame(record);
  });
  await page.waitForFunction(() => window.e2eFrames.length >= 5);
  shown = await runInForm(page, "prime_sieve", 2000000);
  const frames = await page.evaluate(() => {
    window.e2eRecording = false;
    return window.e2eFrames;
  });
  assert.equal(shown.state, "done", shown.status);
  assert.deepEqual(JSON.parse(shown.result), { count: 148933, limit: 2000000 });
  const gaps = frames.slice(1).map((t, i) => t - frames[i]);
  const longestGap = Math.max(...gaps);
  timings.prime_sieve_2000000_ms = shown.time;
  timings.frames_during_run = frames.length;
  timings.max_frame_gap_ms = longestGap;
  assert.ok(
    longestGap < MAX_FRAME_GAP_MS,
    `a frame waited ${longestGap.toFixed(1)} ms (limit ${MAX_FRAME_GAP_MS} ms)`,
  );
  assert.ok(
    frames.length >= shown.time / 50,
    `${frames.length} frames in ${shown.time} ms`,
  );

  await page.screenshot({ path: screenshot, fullPage: true });
  assert.deepEqual(pageErrors, [], "the page logged errors");
  for (const [key, value] of Object.entries(timings)) {
    console.log(`${key.padEnd(24)} ${typeof value === "number" ? value.toFixed(2) : value}`);
  }
  console.log(`e2e: ok (screenshot: ${screenshot})`);
} finally {
  await browser.close();
  server.close();
}
