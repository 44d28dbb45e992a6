// Talent Hub console: plain JavaScript, no libraries. Every figure comes from /api/*,
// which carries no personal data.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const KINDS = [
  "credential_recognized", "recognition_withdrawn",
  "demand_signal_published", "demand_signal_revised", "demand_signal_closed",
  "blacklist_entry_added", "blacklist_entry_suspended", "blacklist_entry_reinstated",
  "blacklist_entry_revoked", "blacklist_entry_erased",
];
const TAIL_ROWS = 500;

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${url}: HTTP ${r.status}`);
  return body;
}

function showError(where, err) {
  where.replaceChildren(el("p", { class: "alert" }, String(err.message || err)));
}

const pretty = (s) => s.replace(/_/g, " ");
// `2026-Q1` → `26Q1`, short enough for an axis.
const shortPeriod = (p) => (p || "").replace(/^\d\d(\d\d)-/, "$1");
const today = () => new Date().toISOString().slice(0, 10);
let roster = new Map();

// ---------------------------------------------------------------------------------------
// Node status

async function loadStatus() {
  const s = await getJSON("/api/status");
  roster = new Map(s.roster.map((m) => [m.code, m.name]));
  $("#node-member").textContent = s.member ? `${s.member} ${roster.get(s.member) || ""}` : "read replica";
  const ready = $("#ready");
  ready.textContent = s.ready ? "ready" : "not ready";
  ready.className = "badge " + (s.ready ? "ok" : "bad");
  $("#log-head").textContent = s.log_head;
  $("#view-position").textContent = s.position;
  // The digest is computed in the background, at most every few seconds while events
  // arrive; until the first is ready there is none to show.
  $("#digest").textContent = s.digest === null
    ? "being computed…"
    : s.digest_position === s.position
      ? s.digest : `${s.digest} (of position ${s.digest_position})`;
  $("#snapshot").textContent = s.snapshot_position ? `position ${s.snapshot_position}` : "none yet";
  $("#entry-keys").textContent = `${s.entry_keys.live} live, ${s.entry_keys.destroyed} destroyed`;
  $("#subscribers").textContent = s.subscribers;
  const rep = s.replication;
  $("#quarantined").textContent = rep ? rep.quarantined : "standalone (no replication)";
  const repByOrigin = new Map((rep ? rep.origins : []).map((o) => [o.origin, o]));
  const rows = s.origin_vector.map((o) => {
    const r = repByOrigin.get(o.origin) || {};
    return el("tr", {},
      el("td", {}, o.origin), el("td", {}, roster.get(o.origin) || ""),
      el("td", { class: "num" }, o.seq),
      el("td", { class: "num" }, r.seen_seq ?? "–"),
      el("td", { class: "num" }, r.produced_seq ?? "–"));
  });
  $("#origins tbody").replaceChildren(...rows);
  $("#replication-note").textContent = rep
    ? `consumer lag ${rep.consumer_lag}` + (rep.last_quarantine ? `; last quarantine: ${rep.last_quarantine}` : "")
    : "";
  return s;
}

// ---------------------------------------------------------------------------------------
// Recognition heat map

async function loadMatrix() {
  const date = $("#matrix-date").value || today();
  const box = $("#matrix-chart");
  let m;
  try {
    m = await getJSON(`/api/recognition-matrix?on_date=${encodeURIComponent(date)}`);
  } catch (e) {
    showError(box, e);
    return;
  }
  const recognizers = [...new Set(m.cells.map((c) => c.recognizer))].sort();
  const issuers = [...new Set(m.cells.map((c) => c.issuer))].sort();
  const max = Math.max(1, ...m.cells.map((c) => c.recognized));
  const cell = 44, left = 120, top = 90;
  const width = left + issuers.length * cell + 10, height = top + recognizers.length * cell + 10;
  const g = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": "recognition matrix", id: "matrix-svg" });
  g.append(svg("text", { x: 4, y: 12 }, "recognising city ↓ / issuing city →"));
  issuers.forEach((code, i) => {
    const x = left + i * cell + cell / 2;
    g.append(svg("text", { x, y: top - 8, transform: `rotate(-45 ${x} ${top - 8})` },
      `${code} ${(roster.get(code) || "").split(" ")[0]}`));
  });
  recognizers.forEach((code, j) => {
    g.append(svg("text", { x: 4, y: top + j * cell + cell / 2 + 4 },
      `${code} ${(roster.get(code) || "").split(" ")[0]}`));
  });
  for (const c of m.cells) {
    const x = left + issuers.indexOf(c.issuer) * cell, y = top + recognizers.indexOf(c.recognizer) * cell;
    const t = c.recognized / max;
    const light = Math.round(92 - t * 55);
    const rect = svg("rect", {
      x: x + 2, y: y + 2, width: cell - 4, height: cell - 4, rx: 3,
      fill: `hsl(205 60% ${light}%)`,
      class: "cell" + (c.mutual ? " cell-mutual" : ""),
      "data-recognizer": c.recognizer, "data-issuer": c.issuer,
      "data-recognized": c.recognized, "data-mutual": c.mutual,
    });
    rect.append(svg("title", {}, `${c.recognizer} recognises ${c.recognized} credential(s) of ${c.issuer}` +
      (c.mutual ? " (mutual)" : "")));
    g.append(rect);
    g.append(svg("text", { x: x + cell / 2, y: y + cell / 2 + 4, class: "cell-label" },
      c.recognized + (c.mutual ? "⇄" : "")));
  }
  box.replaceChildren(g);
  $("#matrix-note").textContent = m.cells.length
    ? `${m.cells.length} recognising/issuing pairs in force on ${m.on_date} (log position ${m.position})`
    : `no recognition in force on ${m.on_date}`;
}

// ---------------------------------------------------------------------------------------
// Demand: trend per industry with forecast, shortage alerts

function trendChart(t, alerting) {
  const w = 340, h = 170, pad = { l: 40, r: 18, t: 12, b: 28 };
  const pts = t.points.map((p) => ({ label: p.period, v: p.demanded }));
  const all = [...pts.map((p) => p.v), t.forecast];
  const max = Math.max(1, ...all) * 1.1;
  const n = pts.length + 1;
  const x = (i) => pad.l + (n <= 1 ? 0 : (i * (w - pad.l - pad.r)) / (n - 1));
  const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
  const g = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, class: "trend-chart",
    role: "img", "aria-label": `demand trend of ${t.industry}` });
  g.append(svg("line", { x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b, class: "axis" }));
  g.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: h - pad.b, class: "axis" }));
  g.append(svg("text", { x: 2, y: pad.t + 8 }, Math.round(max)));
  g.append(svg("text", { x: 2, y: h - pad.b }, 0));
  if (pts.length) {
    g.append(svg("polyline", { class: "actual",
      points: pts.map((p, i) => `${x(i)},${y(p.v)}`).join(" ") }));
    pts.forEach((p, i) => {
      const c = svg("circle", { cx: x(i), cy: y(p.v), r: 3, class: "actual-point" });
      c.append(svg("title", {}, `${p.label}: ${p.v}`));
      g.append(c);
      g.append(svg("text", { x: x(i) - 10, y: h - 10 }, shortPeriod(p.label)));
    });
    const last = pts.length - 1;
    g.append(svg("line", { class: "forecast", x1: x(last), y1: y(pts[last].v), x2: x(last + 1), y2: y(t.forecast) }));
    const f = svg("circle", { cx: x(last + 1), cy: y(t.forecast), r: 4, class: "forecast-point" });
    f.append(svg("title", {}, `forecast ${t.forecast_period}: ${Math.round(t.forecast)}`));
    g.append(f);
    g.append(svg("text", { x: x(last + 1) - 10, y: h - 10 }, shortPeriod(t.forecast_period)));
  }
  const fig = el("figure", { class: "trend" + (alerting ? " has-alert" : ""), "data-industry": t.industry },
    el("figcaption", {}, pretty(t.industry), alerting ? el("span", { class: "alert-flag" }, "shortage alert") : ""),
    g,
    el("div", { class: "muted" }, pts.length
      ? `forecast ${t.forecast_period}: ${Math.round(t.forecast)} (${t.slope >= 0 ? "+" : ""}${t.slope.toFixed(1)}/quarter)`
      : "no demand published"));
  return fig;
}

let trends = null;

async function loadDemand() {
  const box = $("#trend-charts");
  try {
    trends = await getJSON("/api/demand-trends?periods=8");
  } catch (e) {
    showError(box, e);
    return;
  }
  const periods = [...new Set(trends.industries.flatMap((t) => t.points.map((p) => p.period)))].sort();
  const select = $("#alert-period");
  const chosen = select.value;
  select.replaceChildren(...periods.map((p) => el("option", { value: p }, p)));
  select.value = chosen && periods.includes(chosen) ? chosen : periods[periods.length - 1] || "";
  await loadAlerts();
}

async function loadAlerts() {
  const period = $("#alert-period").value;
  $("#report-link").href = `/report?period=${encodeURIComponent(period)}`;
  let alerts = { alerts: [] };
  if (period) {
    try {
      alerts = await getJSON(`/api/shortage-alerts?period=${encodeURIComponent(period)}`);
    } catch (e) {
      showError($("#alerts"), e);
    }
  }
  renderAlerts($("#alerts"), alerts, period);
  const alerting = new Set(alerts.alerts.map((a) => a.industry));
  $("#trend-charts").replaceChildren(...trends.industries.map((t) => trendChart(t, alerting.has(t.industry))));
}

function renderAlerts(box, alerts, period) {
  if (!alerts.alerts.length) {
    box.replaceChildren(el("p", { class: "muted" }, period ? `no shortage alert for ${period}` : "no demand yet"));
    return;
  }
  box.replaceChildren(...alerts.alerts.map((a) => el("div", { class: "alert", "data-industry": a.industry },
    `${pretty(a.industry)} — ${a.city ? `${a.city} ${roster.get(a.city) || ""}` : "whole alliance"}: ` +
    `${a.demanded} demanded (previous ${a.previous}, growth ${(a.growth * 100).toFixed(0)} %, ` +
    `forecast ${Math.round(a.forecast)}); crossed ${a.reasons.join(" and ")}`)));
}

// ---------------------------------------------------------------------------------------
// Blacklist: counts only

async function loadBlacklist() {
  const b = await getJSON("/api/blacklist-counts");
  const statuses = ["active", "pending", "suspended", "expired", "revoked", "erased"];
  $("#blacklist-counts thead").replaceChildren(el("tr", {}, el("th", {}, "City"),
    ...statuses.map((s) => el("th", { class: "num" }, s))));
  $("#blacklist-counts tbody").replaceChildren(...b.cities.map((c) => el("tr", {},
    el("td", {}, `${c.city} ${roster.get(c.city) || ""}`),
    ...statuses.map((s) => el("td", { class: "num" }, c.counts[s] || 0)))));
}

// ---------------------------------------------------------------------------------------
// Talent register: totals only

async function loadRegister() {
  const r = await getJSON("/api/register-summary");
  const city = (code) => `${code} ${roster.get(code) || ""}`;
  const yuan = new Intl.NumberFormat("zh-CN");
  $("#register-awards thead").replaceChildren(el("tr", {}, el("th", {}, "City"),
    el("th", {}, "Level"), el("th", { class: "num" }, "Year"),
    el("th", { class: "num" }, "Awards"), el("th", { class: "num" }, "Amount (CNY)")));
  $("#register-awards tbody").replaceChildren(...r.awards.map((a) => el("tr", {},
    el("td", {}, city(a.city)), el("td", {}, a.level), el("td", { class: "num" }, a.year),
    el("td", { class: "num" }, a.awards), el("td", { class: "num" }, yuan.format(a.amount_cny)))));
  const tiers = ["a", "b", "c"];
  const byCity = new Map();
  for (const w of r.whitelist) {
    if (!byCity.has(w.city)) byCity.set(w.city, {});
    byCity.get(w.city)[w.tier] = w.entries;
  }
  $("#register-whitelist thead").replaceChildren(el("tr", {}, el("th", {}, "City"),
    ...tiers.map((t) => el("th", { class: "num" }, `tier ${t.toUpperCase()}`))));
  $("#register-whitelist tbody").replaceChildren(...[...byCity].map(([c, counts]) => el("tr", {},
    el("td", {}, city(c)), ...tiers.map((t) => el("td", { class: "num" }, counts[t] || 0)))));
}

// ---------------------------------------------------------------------------------------
// Live tail

let source = null;

function startTail(head) {
  if (source) source.close();
  const after = $("#tail-after").value !== "" ? Number($("#tail-after").value) : Math.max(0, head - 20);
  const q = new URLSearchParams({ after: String(after) });
  if ($("#tail-kind").value) q.set("kind", $("#tail-kind").value);
  if ($("#tail-origin").value) q.set("origin", $("#tail-origin").value);
  $("#tail-events tbody").replaceChildren();
  $("#tail-state").textContent = `catching up after position ${after}…`;
  source = new EventSource(`/api/tail?${q}`);
  source.addEventListener("event", (m) => {
    const e = JSON.parse(m.data);
    const body = $("#tail-events tbody");
    body.prepend(el("tr", { class: "fresh", "data-position": e.position, "data-kind": e.kind, "data-origin": e.origin },
      el("td", { class: "num" }, e.position), el("td", {}, e.origin), el("td", {}, e.kind),
      el("td", { class: "mono" }, e.stream), el("td", {}, e.recorded_at)));
    while (body.rows.length > TAIL_ROWS) body.deleteRow(body.rows.length - 1);
  });
  source.addEventListener("caught_up", (m) => {
    $("#tail-state").textContent = `live (caught up at ${JSON.parse(m.data).head})`;
  });
  source.addEventListener("error", () => {
    $("#tail-state").textContent = "reconnecting…";
  });
}

// ---------------------------------------------------------------------------------------
// The printable joint report

function reportTable(table, rows, withCity) {
  const cols = [
    ["industry", "Industry", (r) => pretty(r.industry)],
    ...(withCity ? [["city", "City", (r) => `${r.city} ${roster.get(r.city) || ""}`]] : []),
    ["demanded", "Demanded", (r) => r.demanded],
    ["open_headcount", "Open", (r) => r.open_headcount],
    ["filled", "Filled", (r) => r.filled],
    ["signals", "Signals", (r) => r.signals],
    ["pay", "Median pay band (CNY/month)", (r) => `${r.median_pay_min}–${r.median_pay_max}`],
  ];
  table.querySelector("thead").replaceChildren(el("tr", {}, ...cols.map(([k, h]) =>
    el("th", { class: k === "industry" || k === "city" ? "" : "num" }, h))));
  table.querySelector("tbody").replaceChildren(...rows.map((r) => el("tr", {}, ...cols.map(([k, , f]) =>
    el("td", { class: k === "industry" || k === "city" ? "" : "num" }, f(r))))));
}

async function loadReport() {
  const params = new URLSearchParams(location.search);
  let period = params.get("period") || "";
  if (!period) {
    const t = await getJSON("/api/demand-trends?periods=8");
    const periods = [...new Set(t.industries.flatMap((i) => i.points.map((p) => p.period)))].sort();
    period = periods[periods.length - 1] || "";
  }
  $("#report-period").value = period;
  if (!period) {
    $("#report-basis").textContent = "no demand has been published yet";
    return;
  }
  try {
    const r = await getJSON(`/api/joint-report?period=${encodeURIComponent(period)}`);
    document.title = `Joint talent demand report ${r.period}`;
    $("#report-basis").textContent = `Quarter ${r.period}; as held at log position ${r.position}, valid on ${r.on_date}.`;
    reportTable($("#report-totals"), r.totals, false);
    reportTable($("#report-rows"), r.rows, true);
    const a = await getJSON(`/api/shortage-alerts?period=${encodeURIComponent(period)}`);
    renderAlerts($("#report-alerts"), a, period);
  } catch (e) {
    showError($("#report-basis"), e);
  }
}

// ---------------------------------------------------------------------------------------

async function consoleMain() {
  $("#matrix-date").value = today();
  $("#tail-kind").append(...KINDS.map((k) => el("option", { value: k }, k)));
  let status = null;
  try {
    status = await loadStatus();
  } catch (e) {
    showError($("#origins tbody"), e);
  }
  $("#tail-origin").append(...[...roster].map(([code, name]) => el("option", { value: code }, `${code} ${name}`)));
  $("#matrix-date").addEventListener("change", loadMatrix);
  $("#alert-period").addEventListener("change", loadAlerts);
  $("#tail-start").addEventListener("click", () => startTail(Number($("#log-head").textContent) || 0));
  startTail(status ? status.log_head : 0);
  await Promise.all([loadMatrix(), loadDemand(), loadBlacklist().catch((e) => showError($("#blacklist-counts tbody"), e)),
    loadRegister().catch((e) => showError($("#register-awards tbody"), e))]);
  document.body.dataset.loaded = "true";
  setInterval(() => loadStatus().catch(() => {}), 5000);
}

async function reportMain() {
  try {
    roster = new Map((await getJSON("/api/status")).roster.map((m) => [m.code, m.name]));
  } catch (e) {
    showError($("#report-basis"), e);
  }
  $("#report-show").addEventListener("click", () => {
    location.search = `?period=${encodeURIComponent($("#report-period").value.trim())}`;
  });
  $("#report-print").addEventListener("click", () => window.print());
  await loadReport();
  document.body.dataset.loaded = "true";
}

if (document.body.dataset.page === "report") reportMain(); else consoleMain();
