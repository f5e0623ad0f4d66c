"use strict";
// The live page: asks for the admin key once (kept in this tab's sessionStorage), then polls the
// proxy's JSON routes with it every POLL_MS. Everything is drawn with DOM calls and textContent,
// never innerHTML: model names, key names and step text come from clients.
(() => {
  const POLL_MS = 2000;
  const STORAGE = "safethink.adminKey";
  const SVG = "http://www.w3.org/2000/svg";
  // The counts the chart draws: the name in /v1/safethink/stats/series, and its label.
  const LINES = [
    ["requests", "requests"],
    ["steered_requests", "steered"],
    ["recovered", "recovered"],
    ["exhausted", "exhausted"],
    ["fail_open", "fail-open"],
  ];
  const $ = (id) => document.getElementById(id);
  let selected = null; // the request whose steps are shown
  let timer = null;
  let run = 0; // each sign-in starts a new polling run; a poll of an older one stops there

  class Refused extends Error {}

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    node.append(...children.map((child) => (child instanceof Node ? child : String(child))));
    return node;
  }

  function svg(tag, attrs = {}, text = null) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== null) node.textContent = text;
    return node;
  }

  async function getJSON(path) {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${sessionStorage.getItem(STORAGE)}` },
      cache: "no-store",
    });
    if (response.status === 401) throw new Refused(await messageOf(response));
    if (!response.ok) {
      const error = new Error(`HTTP ${response.status}: ${await messageOf(response)}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  async function messageOf(response) {
    try {
      const body = await response.json();
      return body?.error?.message ?? response.statusText;
    } catch {
      return response.statusText;
    }
  }

  // --- the key ---------------------------------------------------------------------------

  function askForKey(message) {
    run += 1;
    clearTimeout(timer);
    sessionStorage.removeItem(STORAGE);
    $("live").hidden = true;
    $("change-key").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message;
    setStatus("");
    $("key").value = "";
    $("key").focus();
  }

  function start() {
    $("login").hidden = true;
    $("live").hidden = false;
    $("change-key").hidden = false;
    setStatus("connecting…");
    run += 1;
    tick(run);
  }

  function setStatus(text, trouble = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", trouble);
  }

  // --- polling ---------------------------------------------------------------------------

  async function tick(mine) {
    try {
      const [list, series] = await Promise.all([
        getJSON("v1/safethink/requests?limit=50"),
        getJSON("v1/safethink/stats/series?window_s=3600"),
      ]);
      if (mine !== run) return; // signed out (or in again) while this poll was on its way
      drawRequests(list.requests);
      drawChart(series);
      if (selected !== null) await drawDetail(selected);
      setStatus(`live · store: ${list.store} · updated ${clock(Date.now() / 1000)}`);
    } catch (error) {
      if (mine !== run) return;
      if (error instanceof Refused) {
        askForKey(`The proxy refused that key (${error.message}). Enter the admin key.`);
        return;
      }
      setStatus(`Cannot read from the proxy (${error.message}); retrying.`, true);
    }
    if (mine === run) timer = setTimeout(() => tick(mine), POLL_MS);
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
  }

  function fixed(value, digits = 3) {
    return typeof value === "number" ? value.toFixed(digits) : "–";
  }

  // --- the requests ----------------------------------------------------------------------

  function drawRequests(records) {
    const focused = document.activeElement?.dataset?.id;
    const rows = records.map((record) => {
      const outcome = record.outcome ?? "running";
      const open = el("button", { type: "button", "data-id": record.id, title: record.id }, record.id);
      open.addEventListener("click", () => select(record.id));
      const row = el("tr", { "data-id": record.id, "data-outcome": outcome },
        el("td", {}, record.started_at ? clock(record.started_at) : "–"),
        el("td", { class: "id" }, open),
        el("td", {}, record.model ?? "–"),
        el("td", {}, record.key ?? "–"),
        el("td", {}, record.policy ?? "–"),
        el("td", { class: `outcome ${outcome}` }, outcome),
        el("td", { class: "num steers" }, record.steers ?? 0));
      row.classList.toggle("steered", (record.steers ?? 0) > 0);
      row.classList.toggle("selected", record.id === selected);
      return row;
    });
    $("requests").tBodies[0].replaceChildren(...rows);
    $("no-requests").hidden = rows.length > 0;
    // Redrawn every poll: keep the keyboard where it was.
    if (focused) $("requests").querySelector(`button[data-id="${CSS.escape(focused)}"]`)?.focus();
  }

  function select(id) {
    selected = id;
    for (const row of $("requests").tBodies[0].rows) {
      row.classList.toggle("selected", row.dataset.id === id);
    }
    drawDetail(id).catch((error) => {
      if (error instanceof Refused) askForKey(`The proxy refused that key (${error.message}).`);
    });
  }

  // --- one request's steps ---------------------------------------------------------------

  async function drawDetail(id) {
    let record;
    try {
      record = await getJSON(`v1/safethink/requests/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      record = null;
    }
    if (id !== selected) return; // another request was clicked meanwhile
    $("detail").hidden = false;
    $("detail-id").textContent = id;
    if (record === null) {
      $("detail-meta").replaceChildren();
      $("steps").tBodies[0].replaceChildren();
      $("detail-note").textContent = "No record of this request any more (expired).";
      return;
    }
    drawMeta(record);
    const steps = record.steps ?? [];
    $("steps").tBodies[0].replaceChildren(...steps.map((step) => stepRow(step, record.tau)));
    $("steps").classList.toggle("no-text", !steps.some((step) => step.text));
    $("detail-note").textContent = steps.length
      ? "Each row is one scored unit, in decision order: a steer is followed by its new attempts."
      : "No step scored yet.";
  }

  function drawMeta(record) {
    const duration = record.finished_at && record.started_at
      ? `${((record.finished_at - record.started_at) * 1000).toFixed(0)} ms` : "–";
    const fields = [
      ["model", record.model], ["key", record.key], ["policy", record.policy],
      ["τ", fixed(record.tau, 2)], ["stream", record.stream], ["outcome", record.outcome ?? "running"],
      ["finish", record.finish_reason], ["duration", duration], ["steps scored", record.steps_scored],
      ["steers", record.steers], ["recovered", record.recovered], ["exhausted", record.exhausted],
      ["fail-open", record.fail_open], ["upstream calls", record.upstream_calls],
    ];
    $("detail-meta").replaceChildren(...fields
      .filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value))));
  }

  function stepRow(step, tau) {
    const scored = typeof step.score === "number";
    const below = scored && typeof tau === "number" && step.score < tau;
    const against = !scored ? "not scored"
      : typeof tau !== "number" ? "–"
      : `${below ? "below" : "at or above"} τ ${tau.toFixed(2)} (${signed(step.score - tau)})`;
    const text = step.text ?? "";
    return el("tr", { "data-decision": step.decision ?? "", "data-index": step.index ?? "" },
      el("td", { class: "num" }, step.index ?? "–"),
      el("td", { class: "num" }, step.sentence ?? "–"),
      el("td", { class: "num" }, step.attempt ?? "–"),
      el("td", { class: "num score" }, fixed(step.score)),
      el("td", { class: `against ${!scored ? "unscored" : below ? "below" : "above"}` }, against),
      el("td", { class: `decision ${step.decision ?? ""}` }, step.decision ?? "–"),
      el("td", { class: "num" }, typeof step.latency_ms === "number" ? `${step.latency_ms.toFixed(1)} ms` : "–"),
      el("td", { class: "text", title: text }, text));
  }

  function signed(value) {
    return `${value >= 0 ? "+" : ""}${value.toFixed(3)}`;
  }

  // --- the chart -------------------------------------------------------------------------

  function drawChart({ series, bucket_s: bucket }) {
    const [width, height, left, right, top, bottom] = [720, 150, 34, 8, 10, 20];
    const peak = Math.max(1, ...series.flatMap((minute) => LINES.map(([name]) => minute[name] ?? 0)));
    const x = (i) => left + (i * (width - left - right)) / Math.max(1, series.length - 1);
    const y = (value) => height - bottom - (value * (height - top - bottom)) / peak;
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Counts per minute over the last ${Math.round(series.length * bucket / 60)} minutes`,
    });
    chart.append(
      svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
      svg("line", { class: "grid", x1: left, x2: width - right, y1: y(peak), y2: y(peak) }),
      svg("text", { class: "label", x: left - 4, y: y(peak) + 4, "text-anchor": "end" }, peak),
      svg("text", { class: "label", x: left - 4, y: y(0) + 4, "text-anchor": "end" }, 0),
      svg("text", { class: "label", x: left, y: height - 4 }, `−${Math.round(series.length * bucket / 60)} min`),
      svg("text", { class: "label", x: width - right, y: height - 4, "text-anchor": "end" }, "now"));
    for (const [name, label] of LINES) {
      const points = series.map((minute, i) => `${x(i).toFixed(1)},${y(minute[name] ?? 0).toFixed(1)}`);
      const line = svg("polyline", { class: `line s-${name}`, points: points.join(" "), "data-name": name });
      line.append(svg("title", {}, label));
      chart.append(line);
    }
    $("chart").replaceChildren(chart);
    $("legend").replaceChildren(...LINES.map(([name, label]) => {
      const total = series.reduce((sum, minute) => sum + (minute[name] ?? 0), 0);
      return el("li", { class: `s-${name}`, "data-name": name },
        el("span", { class: "swatch", "aria-hidden": "true" }), `${label} `, el("b", {}, total));
    }));
  }

  // --- wiring ----------------------------------------------------------------------------

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(STORAGE, $("key").value.trim());
    $("login-error").textContent = "";
    start();
  });
  $("change-key").addEventListener("click", () => askForKey(""));
  if (sessionStorage.getItem(STORAGE)) start();
  else askForKey("");
})();
