// The ec2d console: reads /_ec2d/console/api/*, polls with ETags for live updates, draws timelines
// and capacity pools as SVG, and changes things only through the /_ec2d/ control endpoints.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const state = { scope: null, rows: [], pools: [], etag: null, selected: null, detailEtag: null };

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function setStatus(text) { $("status").textContent = text || ""; }

// ---- SigV4 for the control calls, when the page is given a key (credentials-file mode) ----------

const enc = new TextEncoder();
const hex = (buf) => Array.from(new Uint8Array(buf)).map((b) => b.toString(16).padStart(2, "0")).join("");
async function sha256(text) { return hex(await crypto.subtle.digest("SHA-256", enc.encode(text))); }
async function hmac(key, text) {
  const k = await crypto.subtle.importKey("raw", typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(text));
}
const uriEncode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

async function signedHeaders(method, path, query) {
  const access = $("access-key").value.trim(), secret = $("secret-key").value;
  if (!access || !secret || !(window.crypto && crypto.subtle)) return {};
  const region = (state.scope || "/us-east-1").split("/")[1] || "us-east-1";
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const canonicalQuery = query.split("&").filter(Boolean).map((kv) => {
    const [k, v = ""] = kv.split("=");
    return [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1)).map((p) => p.join("=")).join("&");
  const payloadHash = await sha256("");
  const host = location.host;
  const canonical = [method, path, canonicalQuery, `host:${host}`, `x-amz-content-sha256:${payloadHash}`,
    `x-amz-date:${amzDate}`, "", "host;x-amz-content-sha256;x-amz-date", payloadHash].join("\n");
  const credScope = `${day}/${region}/ec2/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, credScope, await sha256(canonical)].join("\n");
  let key = await hmac("AWS4" + secret, day);
  for (const part of [region, "ec2", "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  return {
    "x-amz-date": amzDate,
    "x-amz-content-sha256": payloadHash,
    "authorization": `AWS4-HMAC-SHA256 Credential=${access}/${credScope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
  };
}

async function control(method, pathAndQuery) {
  const [path, query = ""] = pathAndQuery.split("?");
  const full = "/_ec2d/" + path;
  const headers = await signedHeaders(method, full, query);
  const r = await fetch(full + (query ? "?" + query : ""), { method, headers });
  const body = await r.json().catch(() => ({}));
  setStatus(r.ok ? `${method} ${path}: done` : `${method} ${path}: ${r.status} ${body.error || ""}`);
  await refresh(true);
  return body;
}

async function api(path, etag) {
  const headers = await signedHeaders("GET", "/_ec2d/console/api/" + path.split("?")[0], path.split("?")[1] || "");
  if (etag) headers["if-none-match"] = etag;
  const r = await fetch("/_ec2d/console/api/" + path, { headers });
  if (r.status === 304) return { unchanged: true };
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return { body, etag: r.headers.get("etag") };
}

// ---- lists ---------------------------------------------------------------------------------------

function matches(row) {
  const kind = $("kind-filter").value, st = $("state-filter").value.trim().toLowerCase();
  const q = $("search").value.trim().toLowerCase();
  if (kind && row.kind !== kind) return false;
  if (st && !row.state.toLowerCase().includes(st)) return false;
  if (q && ![row.id, row.state, row.zone, row.type, row.detail, row.kind].join(" ").toLowerCase().includes(q)) return false;
  return true;
}

function renderList() {
  const tbody = $("resources").querySelector("tbody");
  tbody.replaceChildren();
  for (const r of state.rows.filter(matches)) {
    const tr = el("tr", { "data-id": r.id, "data-kind": r.kind, "data-state": r.state });
    if (r.id === state.selected) tr.className = "selected";
    tr.append(el("td", {}, r.kind), el("td", { class: "id" }, r.id),
      el("td", { class: `state state-${r.state.split(" ")[0]}` }, r.state), el("td", {}, r.zone), el("td", {}, r.type),
      el("td", { class: "detail" }, r.detail));
    tr.addEventListener("click", () => select(r.id));
    tbody.append(tr);
  }
}

function renderPools() {
  const box = $("pools");
  box.replaceChildren();
  if (!state.pools.length) { box.textContent = "No pool has been used yet."; return; }
  const rowH = 26, labelW = 230, barW = 420;
  const svg = el("svg:svg", { id: "pools-svg", width: labelW + barW + 190, height: state.pools.length * rowH + 8 });
  state.pools.forEach((p, i) => {
    // A pool of thousands of units with a few in use would show only free space: the free part is
    // drawn shortened (to at most three times the busy part, at least 8 units), its count written out.
    const busy = Math.max(p.used, 0) + Math.max(p.reserved, 0);
    const shownFree = Math.min(Math.max(p.free, 0), Math.max(8, 3 * busy));
    const y = 4 + i * rowH, total = Math.max(busy + shownFree, 1);
    const g = el("svg:g", { class: "pool", "data-zone": p.zone, "data-type": p.type });
    g.append(el("svg:text", { x: 0, y: y + 15 }, `${p.zone} ${p.type}`));
    let x = labelW;
    for (const part of ["used", "reserved", "free"]) {
      const n = part === "free" ? shownFree : Math.max(p[part], 0);
      const w = (n / total) * barW;
      const rect = el("svg:rect", { class: `${part} seg`, x, y, width: w, height: rowH - 6, "data-count": p[part] });
      rect.append(el("svg:title", {}, `${part}: ${p[part]}`));
      g.append(rect);
      x += w;
    }
    g.append(el("svg:text", { x: labelW + barW + 6, y: y + 15 }, `used ${p.used}, reserved ${p.reserved}, free ${p.free}`));
    const interrupt = el("svg:text", { x: labelW + barW + 170, y: y + 15, class: "pool-interrupt", style: "cursor:pointer;fill:#a3281c" }, "⚡");
    interrupt.append(el("svg:title", {}, "interrupt every Spot Instance of this pool"));
    interrupt.addEventListener("click", () => control("POST", `spot/interrupt?availability-zone=${encodeURIComponent(p.zone)}&instance-type=${encodeURIComponent(p.type)}`));
    g.append(interrupt);
    svg.append(g);
  });
  box.append(svg);
}

// ---- one resource --------------------------------------------------------------------------------

const PALETTE = ["#2563eb", "#16a34a", "#b26b00", "#a3281c", "#9333ea", "#0891b2", "#be185d", "#4d7c0f"];
function colorOf(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function drawTimeline(events, nowMillis) {
  const box = $("timeline");
  box.replaceChildren();
  if (!events.length) { box.textContent = "No transitions recorded."; return; }
  const W = 560, left = 10, right = 10, top = 20;
  const t0 = events[0].atMillis, t1 = Math.max(nowMillis, events[events.length - 1].atMillis);
  const span = Math.max(t1 - t0, 1);
  const xOf = (t) => left + ((t - t0) / span) * (W - left - right);
  const svg = el("svg:svg", { id: "timeline-svg", width: W, height: top + 40 + events.length * 16 });
  svg.append(el("svg:line", { class: "axis", x1: left, x2: W - right, y1: top + 18, y2: top + 18 }));
  events.forEach((e, i) => {
    const x = xOf(e.atMillis), x2 = i + 1 < events.length ? xOf(events[i + 1].atMillis) : xOf(t1);
    const seg = el("svg:rect", { class: "transition", x, y: top + 8, width: Math.max(x2 - x, 2), height: 20,
      fill: colorOf(e.state.split(" ")[0]), "data-state": e.state });
    seg.append(el("svg:title", {}, `${e.state} from ${e.at}${e.reason ? " (" + e.reason + ")" : ""}`));
    svg.append(seg, el("svg:circle", { cx: x, cy: top + 18, r: 4, fill: "#1b1f24" }));
    const ly = top + 44 + i * 16;
    svg.append(el("svg:line", { class: "axis", x1: x, x2: x, y1: top + 28, y2: ly - 10, "stroke-dasharray": "2,2" }));
    svg.append(el("svg:text", { x: Math.min(x, W - 200), y: ly }, `${e.at.slice(11, 19)} ${e.state}`));
  });
  svg.append(el("svg:text", { x: W - right - 60, y: 12 }, "now " + new Date(t1).toISOString().slice(11, 19)));
  box.append(svg);
}

function actionButton(label, id, fn) {
  const b = el("button", { type: "button", id }, label);
  b.addEventListener("click", fn);
  $("detail-actions").append(b);
}

function renderDetail(d) {
  $("detail").hidden = false;
  const r = d.resource;
  $("detail-title").textContent = `${r.kind} ${r.id}: ${r.state}`;
  $("detail-title").dataset.state = r.state;
  $("detail-actions").replaceChildren();
  const attrs = d.attributes || {};
  if (r.kind === "instance") {
    actionButton("Hold stopping", "act-hold", () => control("POST", `instances/${r.id}/hold-stopping`));
    actionButton("Release stopping", "act-release", () => control("POST", `instances/${r.id}/release-stopping`));
    if (attrs.spot_request_id) actionButton("Interrupt Spot Instance", "act-interrupt", () => control("POST", `spot/interrupt?instance-id=${r.id}`));
  } else if (r.kind === "bundle_task") {
    actionButton("Fail bundle task", "act-fail", () => control("POST", `bundle-tasks/${r.id}/fail`));
  } else if (r.kind === "spot_request" && attrs.instance_id) {
    actionButton("Interrupt its instance", "act-interrupt", () => control("POST", `spot/interrupt?instance-id=${attrs.instance_id}`));
  }
  drawTimeline(d.timeline, d.nowMillis);
  const tbody = $("events").querySelector("tbody");
  tbody.replaceChildren();
  tbody.replaceChildren(...d.timeline.map((e) => {
    const tr = el("tr", { "data-state": e.state });
    tr.append(el("td", {}, e.at), el("td", {}, e.state), el("td", {}, e.reason));
    return tr;
  }));
  $("attributes").textContent = JSON.stringify(d.attributes, null, 2);
}

async function select(id) {
  state.selected = id;
  state.detailEtag = null;
  location.hash = `${state.scope}|${id}`;
  renderList();
  await refreshDetail();
}

async function refreshDetail() {
  if (!state.selected) return;
  try {
    const r = await api(`resource?scope=${encodeURIComponent(state.scope)}&id=${encodeURIComponent(state.selected)}`, state.detailEtag);
    if (r.unchanged) return;
    state.detailEtag = r.etag;
    renderDetail(r.body);
  } catch (e) { setStatus(String(e.message || e)); }
}

// ---- polling ---------------------------------------------------------------------------------------

async function refresh(force) {
  if (!state.scope) return;
  try {
    const r = await api(`resources?scope=${encodeURIComponent(state.scope)}`, force ? null : state.etag);
    if (!r.unchanged) {
      state.etag = r.etag;
      state.rows = r.body.resources;
      state.pools = r.body.pools;
      $("clock").textContent = `${r.body.clock} clock: ${r.body.now}`;
      $("clock").dataset.now = r.body.now;
      renderList();
      renderPools();
    }
    if (force) state.detailEtag = null;
    await refreshDetail();
  } catch (e) { setStatus(String(e.message || e)); }
}

async function loadScopes() {
  const r = await api("scopes");
  const sel = $("scope");
  const [hashScope, hashId] = decodeURIComponent(location.hash.slice(1)).split("|");
  const scopes = Array.from(new Set([...r.body.scopes, r.body.default, ...(hashScope ? [hashScope] : [])])).sort();
  const current = state.scope || hashScope || (r.body.scopes[0] || r.body.default);
  sel.replaceChildren(...scopes.map((s) => el("option", { value: s }, s)));
  sel.value = current;
  state.scope = current;
  if (hashId && !state.selected) state.selected = hashId;
}

function wire() {
  $("scope").addEventListener("change", () => { state.scope = $("scope").value; state.etag = null; state.selected = null; $("detail").hidden = true; refresh(true); });
  // Text boxes re-filter as one types (a `change` on blur would re-render the rows under a click);
  // the kind menu when it changes.
  for (const id of ["state-filter", "search"]) $(id).addEventListener("input", renderList);
  $("kind-filter").addEventListener("change", renderList);
  $("advance-btn").addEventListener("click", () => control("POST", `clock/advance?seconds=${Number($("advance-secs").value) || 0}`));
  $("reset-btn").addEventListener("click", async () => {
    if (!window.confirm("Drop every resource of every account and region?")) return;
    state.selected = null; $("detail").hidden = true;
    await control("POST", "reset");
  });
}

async function main() {
  wire();
  try { await loadScopes(); } catch (e) { setStatus(String(e.message || e)); }
  await refresh(true);
  setInterval(async () => {
    try { await loadScopes(); } catch (e) { /* shown by refresh */ }
    refresh(false);
  }, 1000);
}

main();
