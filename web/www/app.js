// The demo page: loads the test plugin into the host kit (the `wasplug`
// package, built by build.sh), runs the method the user picks (the Cancel
// button aborts it), and keeps a box moving on every animation frame to show
// the page never freezes.
import init, { WebPlugin } from "wasplug";

const $ = (id) => document.getElementById(id);

/** The methods on offer: their parameter (if any) and what they show. */
const METHODS = {
  ping: { help: 'Answers "pong": one JSON-RPC round trip into the plugin.' },
  prime_sieve: {
    param: { label: "Limit", value: 2000000 },
    help: "Counts the primes up to the limit: CPU-heavy, run in fuel slices.",
  },
  many_echo: {
    param: { label: "Host calls", value: 1000 },
    help: "The plugin calls the page's echo host method n times, one after another.",
  },
  sleep: {
    param: { label: "Milliseconds", value: 500 },
    help: "The plugin sleeps; the host waits on a browser timer, not a busy loop.",
  },
  call_host: {
    params: () => ["page_value", null],
    help: "The plugin calls the page_value host method, which reads the text box below.",
  },
  log: {
    param: { label: "Lines", value: 5 },
    help: "The plugin writes lines to stderr; each reaches the log below.",
  },
  fail: { help: "The plugin answers with a JSON-RPC error." },
  panic: { help: "The plugin panics (a trap): the call fails, the page goes on." },
};

// ---- the animated box and the frame-gap meter ----------------------------

let frames = 0;
let lastFrame = performance.now();
/** The longest gap between two frames since the current call started. */
let longestGap = 0;
function frame(now) {
  const gap = now - lastFrame;
  lastFrame = now;
  frames += 1;
  longestGap = Math.max(longestGap, gap);
  const track = $("box").parentElement.clientWidth - 48;
  const phase = (now / 1600) % 2;
  const x = (phase < 1 ? phase : 2 - phase) * track;
  $("box").style.transform = `translateX(${x.toFixed(1)}px) rotate(${(now / 8) % 360}deg)`;
  if (frames % 10 === 0) $("frames").textContent = frames;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// ---- the plugin and its host methods -------------------------------------

let hostCalls = 0;
const host = {
  /** Returns its params unchanged (the test plugin checks that). */
  echo(params) {
    hostCalls += 1;
    return params;
  },
  /** Reads a value from the page. */
  page_value() {
    hostCalls += 1;
    return $("page-value").value;
  },
};

function appendLog(plugin, line) {
  const item = document.createElement("li");
  item.textContent = `[${plugin}] ${line}`;
  const log = $("log");
  log.append(item);
  while (log.children.length > 200) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

async function loadPlugin() {
  await init();
  const response = await fetch("test-plugin.wasm");
  if (!response.ok) throw new Error(`test-plugin.wasm: HTTP ${response.status}`);
  const wasm = new Uint8Array(await response.arrayBuffer());
  return new WebPlugin(wasm, { name: "test-plugin", host, onLog: appendLog });
}

// ---- the form ------------------------------------------------------------

function showMethod() {
  const spec = METHODS[$("method").value];
  $("help").textContent = spec.help;
  $("param-label").hidden = !spec.param;
  if (spec.param) {
    $("param-label").firstChild.textContent = `${spec.param.label} `;
    $("param").value = spec.param.value;
  }
}

function paramsOf(method) {
  const spec = METHODS[method];
  if (spec.params) return spec.params();
  if (spec.param) return [Number($("param").value)];
  return null;
}

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

/** Aborts the running call; `null` when none runs. */
let running = null;

/**
 * Calls `method` and shows the outcome. Resolves to what the page showed:
 * `{ ok, result | error, ms, longestGap }`.
 */
async function run(plugin, method, params) {
  running = new AbortController();
  $("run").disabled = true;
  $("cancel").disabled = false;
  $("call").textContent = `${method}(${params === null ? "" : JSON.stringify(params)})`;
  $("result").textContent = "…";
  $("time").textContent = "…";
  $("gap").textContent = "…";
  setStatus("running", "Running…");
  const callsBefore = hostCalls;
  longestGap = 0;
  const started = performance.now();
  let outcome;
  try {
    const result = await plugin.call(method, params, { signal: running.signal });
    outcome = { ok: true, result };
  } catch (error) {
    outcome = { ok: false, error: { kind: error.kind, message: error.message, code: error.code } };
  }
  outcome.ms = performance.now() - started;
  outcome.longestGap = longestGap;
  outcome.hostCalls = hostCalls - callsBefore;
  $("time").textContent = `${outcome.ms.toFixed(1)} ms`;
  $("gap").textContent = `${longestGap.toFixed(1)} ms`;
  $("host-calls").textContent = hostCalls;
  if (outcome.ok) {
    $("result").textContent = JSON.stringify(outcome.result, null, 1);
    setStatus("done", "Done");
  } else {
    const { kind, message } = outcome.error;
    $("result").textContent = `${kind}: ${message}`;
    if (kind === "Cancelled") setStatus("cancelled", "Cancelled");
    else setStatus("error", `Failed (${kind})`);
  }
  running = null;
  $("cancel").disabled = true;
  $("run").disabled = false;
  return outcome;
}

showMethod();
$("method").addEventListener("change", showMethod);
$("cancel").addEventListener("click", () => running?.abort());

const ready = loadPlugin().then(
  (plugin) => {
    $("call-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const method = $("method").value;
      run(plugin, method, paramsOf(method));
    });
    $("run").disabled = false;
    $("run").textContent = "Run";
    setStatus("idle", `Loaded plugin "${plugin.name}". Pick a method and run it.`);
    return plugin;
  },
  (error) => {
    setStatus("error", `Cannot load the plugin: ${error.message ?? error}`);
    throw error;
  },
);

// For the end-to-end test and the console: `await wasplugDemo.ready`.
window.wasplugDemo = { ready, run: async (method, params) => run(await ready, method, params) };
