// The live demonstration: fetch each resource of the plan in turn and show what the
// browser reports about it. Nothing here is invented: a figure the browser hides is
// shown as hidden.

const FIELDS = ["content-type", "content-length", "date", "connection"];

/** Reads demo.json, the plan. */
export async function loadPlan() {
  const response = await fetch(new URL("../demo.json", import.meta.url), { cache: "no-store" });
  if (!response.ok) throw new Error(`demo.json: ${response.status} ${response.statusText}`);
  const plan = await response.json();
  if (!Array.isArray(plan.fetches) || plan.fetches.length === 0) throw new Error("demo.json has no fetches");
  return plan;
}

/** The Resource Timing entry of one URL. It is queued when the response ends, which can
 *  be a moment after the body promise settles, so wait for it briefly. */
async function timingOf(url) {
  for (let i = 0; i < 100; i++) {
    const entries = performance.getEntriesByName(url, "resource");
    if (entries.length) return entries[entries.length - 1];
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return null;
}

/** What Resource Timing says about the connection of one fetch.
 *  - connectStart/connectEnd inside the fetch: the browser opened a TCP connection for it.
 *  - both equal to fetchStart: a socket was already open when the fetch began; reused or
 *    opened in advance, Resource Timing cannot tell which. */
export function connectionOf(t) {
  if (!t) return { opened: null, text: "The browser gave no timing entry for this fetch." };
  const connect = t.connectEnd - t.connectStart;
  if (t.connectStart > t.fetchStart || connect > 0) {
    return {
      opened: true,
      text: `New TCP connection: connect ${ms(connect)}, from ${ms(t.connectStart)} to ${ms(t.connectEnd)}` +
        (connect === 0 ? " (shorter than the browser's 0.1 ms timer resolution)" : ""),
    };
  }
  return {
    opened: false,
    text: "A socket was already open when this fetch began (connectStart = connectEnd = fetchStart): " +
      "Resource Timing can't tell a reused connection from one the browser opened ahead of time.",
  };
}

function ms(value) {
  return `${value.toFixed(1)} ms`;
}

function el(name, attrs = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

/** Fetches one resource; returns a plain record of what the browser reported. */
async function fetchOne(item, index, run) {
  const url = new URL(item.path, document.baseURI);
  url.searchParams.set("demo", `${run}-${index}-${Date.now().toString(36)}`);
  const row = { path: item.path, what: item.what || "", url: url.href, expectedType: item.type };
  const started = performance.now();
  try {
    const response = await fetch(url, { cache: "no-store" });
    row.bytes = (await response.arrayBuffer()).byteLength;
    row.status = response.status;
    row.statusText = response.statusText;
    row.headers = {};
    for (const name of FIELDS) row.headers[name] = response.headers.get(name);
    row.headers["content-encoding"] = response.headers.get("content-encoding");
  } catch (error) {
    row.error = String(error);
  }
  row.scriptMs = performance.now() - started;
  const t = await timingOf(url.href);
  row.timing = t && {
    fetchStart: t.fetchStart, connectStart: t.connectStart, connectEnd: t.connectEnd,
    requestStart: t.requestStart, responseStart: t.responseStart, responseEnd: t.responseEnd,
    duration: t.duration, nextHopProtocol: t.nextHopProtocol,
  };
  row.connection = connectionOf(t);
  return row;
}

function card(row, index) {
  const h = row.headers || {};
  const li = el("li", { class: "fetch" });
  const status = row.error
    ? el("span", { class: "bad" }, "failed")
    : el("span", { class: row.status === 200 ? "good" : "bad" }, `${row.status} ${row.statusText}`.trim());
  li.append(el("h3", {}, el("span", {}, `${index + 1}. `, el("code", {}, row.path)), status));
  if (row.error) {
    li.append(el("p", { class: "bad" }, row.error));
    return li;
  }
  const conn = el("p", { class: "conn " + (row.connection.opened ? "good" : "hidden-figure") }, row.connection.text);
  const dl = el("dl");
  const add = (term, ...desc) => dl.append(el("dt", {}, term), el("dd", {}, ...desc));

  const type = h["content-type"];
  add("Content-Type", type ?? hidden("absent"),
    type === row.expectedType ? el("span", { class: "good" }, " (as expected)")
      : el("span", { class: "bad" }, ` (expected ${row.expectedType})`));

  const length = h["content-length"];
  const encoded = h["content-encoding"];
  add("Content-Length", length ?? hidden("absent"),
    encoded ? ` (${encoded}-encoded; ${row.bytes} bytes decoded)`
      : Number(length) === row.bytes ? el("span", { class: "good" }, ` (= the ${row.bytes} bytes read)`)
        : el("span", { class: "bad" }, ` (but ${row.bytes} bytes were read)`));

  add("Date", h.date ?? hidden("absent"));
  add("Connection", h.connection ?? hidden("not exposed to scripts by this browser"));

  if (row.timing) {
    const t = row.timing;
    add("Took", `${ms(t.duration)} `, el("span", { class: "muted" },
      `(waiting for the first byte ${ms(t.responseStart - t.requestStart)}, body ${ms(t.responseEnd - t.responseStart)}; ${t.nextHopProtocol || "protocol hidden"})`));
  } else {
    add("Took", `${ms(row.scriptMs)} `, hidden("(measured by the script: no timing entry)"));
  }
  li.append(conn, dl);
  return li;
}

function hidden(text) {
  return el("span", { class: "hidden-figure" }, text);
}

/** Runs the whole plan once, in order, rendering a card per fetch. */
export async function runDemo(plan, list, summary, run) {
  list.replaceChildren();
  const rows = [];
  for (const [index, item] of plan.fetches.entries()) {
    summary.textContent = `Fetching ${index + 1} of ${plan.fetches.length}…`;
    const row = await fetchOne(item, index, run);
    rows.push(row);
    list.append(card(row, index));
  }
  const opened = rows.filter((r) => r.connection.opened).length;
  const ok = rows.filter((r) => r.status === 200).length;
  const typed = rows.filter((r) => r.headers && r.headers["content-type"] === r.expectedType).length;
  summary.textContent = `${rows.length} fetches: ${opened} opened a new TCP connection, ` +
    `${ok} answered 200, ${typed} with the expected Content-Type.`;
  return rows;
}
