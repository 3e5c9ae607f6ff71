// The page's entry module: wires up the demo, the WebAssembly checksum and the video.
// Each part reports its state on <html data-…> (read by tests/browser.rs) and in the page.
import { loadPlan, runDemo } from "./demo.mjs";
import { loadChecksum, checksumJs, bytesOf, hex } from "./checksum.mjs";

const root = document.documentElement;
root.dataset.modules = "ran";
const results = (window.rawserve = { demoRuns: [] });

// --- WebAssembly -------------------------------------------------------------------
const input = document.getElementById("checksum-input");
const output = document.getElementById("checksum-out");
results.wasm = loadChecksum().then(
  (sum) => {
    const show = () => {
      const bytes = bytesOf(input.value);
      const value = sum(bytes);
      const agrees = value === checksumJs(bytes);
      output.textContent = `${hex(value)} over ${bytes.length} bytes` +
        (agrees ? " (the JavaScript reference agrees)" : ` (JavaScript says ${hex(checksumJs(bytes))}!)`);
      return { value, agrees };
    };
    input.addEventListener("input", show);
    const first = show();
    // RFC 1071's own example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, checksum 0x220d.
    const rfc = sum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7));
    root.dataset.wasm = first.agrees && rfc === 0x220d ? "ok" : "wrong";
    return { first: first.value, rfc };
  },
  (error) => {
    root.dataset.wasm = "failed";
    output.textContent = `could not instantiate: ${error.message}`;
    console.error("WebAssembly:", error);
    return { error: String(error) };
  },
);

// --- Video -------------------------------------------------------------------------
const video = document.getElementById("video");
const videoStatus = document.getElementById("video-status");
function describeVideo() {
  const s = video.seekable;
  const seekableTo = s.length ? s.end(s.length - 1) : 0;
  videoStatus.textContent = `Duration ${video.duration.toFixed(1)} s; ` + (seekableTo >= video.duration - 0.1
    ? "all of it seekable, since the server answers range requests."
    : "the browser can't seek it yet: seeking needs the server to answer range requests (206 Partial Content).");
  root.dataset.video = "metadata";
}
if (video.readyState >= 1) describeVideo();
video.addEventListener("loadedmetadata", describeVideo);
video.addEventListener("progress", () => video.readyState >= 1 && describeVideo());

// --- The connection demo -----------------------------------------------------------
const list = document.getElementById("fetches");
const summary = document.getElementById("demo-summary");
const button = document.getElementById("run-demo");
let run = 0;

async function runOnce(plan) {
  button.disabled = true;
  root.dataset.demo = "running";
  try {
    const rows = await runDemo(plan, list, summary, ++run);
    results.demoRuns.push(rows);
    root.dataset.demo = "done";
  } catch (error) {
    root.dataset.demo = "failed";
    summary.textContent = `The demo failed: ${error.message}`;
    console.error("demo:", error);
  } finally {
    button.disabled = false;
  }
}

const loaded = new Promise((resolve) =>
  document.readyState === "complete" ? resolve() : window.addEventListener("load", resolve, { once: true }));

loadPlan().then(
  async (plan) => {
    root.dataset.json = "loaded";
    results.plan = plan;
    button.addEventListener("click", () => runOnce(plan));
    // Start once the page is quiet, so no fetch of the page's own loading is in flight
    // and every demo fetch has to open its own connection.
    await loaded;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await runOnce(plan);
  },
  (error) => {
    root.dataset.json = "failed";
    root.dataset.demo = "failed";
    summary.textContent = `Could not read demo.json: ${error.message}`;
    console.error("demo.json:", error);
  },
);
