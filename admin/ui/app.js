// bidsieve admin page. Plain JavaScript, no external resources. The token lives in
// sessionStorage and travels in the Authorization header only (no cookies).
"use strict";

(function () {
  const REFRESH_MS = 3000;
  const TOKEN_KEY = "bidsieve.token";
  const SVG_NS = "http://www.w3.org/2000/svg";

  const state = {
    me: null, dsps: [], selected: null, curve: null, preview: null,
    kind: "recall_target", value: null, auditNext: 0, timer: null, previewSeq: 0,
  };

  const $ = (id) => document.getElementById(id);

  // h builds an element: text is always set as text, never parsed as HTML.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // put replaces el's children, skipping null ones (replaceChildren would print "null").
  function put(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  function s(tag, attrs, text) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  const pct = (x, d = 1) => (x === null || x === undefined || isNaN(x)) ? "–" : (100 * x).toFixed(d) + "%";
  const num = (x) => (x === null || x === undefined) ? "–" : Number(x).toLocaleString("en-US");
  const thr = (x) => (x === null || x === undefined) ? "–" : Number(x).toFixed(4);

  // ---- API ----

  class APIError extends Error {
    constructor(status, body) {
      super((body && body.error) || ("HTTP " + status));
      this.status = status; this.field = body && body.field;
    }
  }

  async function api(method, path, body) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const init = { method, headers: { "Authorization": "Bearer " + token }, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const err = new APIError(res.status, data);
      if (res.status === 401) signOut(err.message === "invalid token" ? "That token is not valid." : "Please sign in.");
      if (res.status === 429) {
        const wait = res.headers.get("Retry-After");
        err.message = "Too many failed sign-ins from this address. Try again in " + (wait || "a few") + " s.";
      }
      throw err;
    }
    return data;
  }
  // history.js (its own section of the page) calls the API through this same function, so
  // both send the token alike and a revoked token signs the whole page out.
  window.bidsieveAPI = api;

  // ---- sign-in ----

  function signOut(msg) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(state.timer);
    // Forget everything of the previous session: the next token may have another role.
    Object.assign(state, { me: null, dsps: [], selected: null, curve: null, preview: null, previewError: null, value: null, auditNext: 0 });
    $("detail").hidden = true;
    $("app").hidden = true; $("meta").hidden = true;
    $("signin-panel").hidden = false;
    $("signin-error").textContent = msg || "";
    $("token").value = "";
    $("token").focus();
  }

  async function signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      await refresh();
    } catch (e) {
      if (e.status !== 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        $("signin-error").textContent = e.message;
      }
      return;
    }
    $("signin-panel").hidden = true;
    $("app").hidden = false; $("meta").hidden = false;
    loadAudit(true);
  }

  // ---- DSP table ----

  async function refresh() {
    clearTimeout(state.timer);
    try {
      const data = await api("GET", "/admin/api/dsps");
      state.me = data.you;
      state.dsps = data.dsps;
      renderMeta(data);
      renderTable();
      if (!state.selected && data.dsps.length) select(data.dsps[0].name);
      else if (state.selected) renderDetail(false);
      $("refreshed").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
    } finally {
      if (sessionStorage.getItem(TOKEN_KEY)) state.timer = setTimeout(() => refresh().catch(showError), REFRESH_MS);
    }
  }

  function renderMeta(data) {
    $("who").textContent = data.you.name + " (" + data.you.role + ")";
    $("model-info").textContent = data.model ? "model " + data.model.version : "no model loaded";
    $("load-info").textContent = !data.load ? ""
      : "shed " + (100 * data.load.shed_share).toFixed(2) + "% of " + data.load.auctions + " auctions";
    $("load-info").title = "Auctions refused at the edge for load (503 or a Prebid no-bid, with Retry-After), over the last "
      + Math.round((data.load && data.load.window_seconds || 0) / 60) + " min; " + (data.load ? data.load.inflight : 0) + " in flight now";
    $("store-info").textContent = data.store ? "settings: " + data.store.split(" ")[0] : "settings: file only";
    const banner = $("banner");
    if (data.read_only) {
      banner.hidden = false; banner.className = "banner bad";
      banner.textContent = "The settings store is unavailable: the gateway runs on its configuration file and changes are refused.";
    } else if (banner.classList.contains("bad")) {
      banner.hidden = true;
    }
  }

  function statusBadge(d) {
    if (!d.settings.enabled) return h("span", { class: "badge paused" }, "paused");
    const mode = h("span", { class: "badge " + d.settings.mode }, d.settings.mode);
    if (!d.live || !d.live.drift) return mode;
    return h("span", {}, mode, " ", h("span", {
      class: "badge drift",
      title: "Drift: the live recall has stayed below the target under this model (shaping.drift_after); shaping.on_drift says whether it is now sent everything",
    }, "drift"));
  }

  function renderTable() {
    const tbody = $("dsp-table").tBodies[0];
    const rows = state.dsps.map((d) => {
      const lv = d.live;
      const over = (f) => d.overridden.includes(f) ? "over" : null;
      const recall = lv && lv.recall
        ? [pct(lv.recall.estimate), h("span", { class: "ci" }, pct(lv.recall.lower) + "–" + pct(lv.recall.upper))]
        : "–";
      const threshold = d.settings.threshold !== null
        ? thr(d.settings.threshold)
        : (d.operating_point && d.operating_point.source === "recall_target" ? thr(d.operating_point.threshold) : "–");
      return h("tr", {
        "data-dsp": d.name, class: d.name === state.selected ? "selected" : null,
        onclick: () => select(d.name),
      },
        h("td", { class: "name" }, d.name),
        h("td", {}, statusBadge(d)),
        h("td", { class: "num " + (over("recall_target") || "") }, pct(d.settings.recall_target)),
        h("td", { class: "num " + (over("threshold") || ""), title: d.settings.threshold !== null ? "set by hand" : "the model's, for the recall target" }, threshold),
        h("td", { class: "num offered" }, lv ? num(lv.offered) : "–"),
        h("td", { class: "num sent" }, lv ? num(lv.sent) : "–"),
        h("td", { class: "num filtered" }, lv ? num(lv.filtered) : "–"),
        h("td", { class: "num privacy" }, lv ? num(lv.privacy || 0) : "–"),
        h("td", { class: "num explored" }, lv ? num(lv.explored) : "–"),
        h("td", { class: "num throttled" }, lv ? num(lv.throttled) : "–"),
        h("td", { class: "num bids" }, lv ? num(lv.bids) : "–"),
        h("td", { class: "num live-recall" }, recall),
        h("td", { class: "num withheld" }, lv ? pct(lv.withheld) : "–"),
      );
    });
    tbody.replaceChildren(...rows);
    const w = state.dsps.find((d) => d.live);
    $("figures-note").textContent = !w ? "No live figures from the gateway yet."
      : "Live recall: bids kept, estimated from explored traffic (95% interval). Withheld: share of requests the model filtered. Privacy: requests withheld by the publisher's privacy signals (no consent, no vendor id), beside those the model filtered. "
        + (w.live.window_seconds ? "Last " + Math.round(w.live.window_seconds / 60) + " min." : "Since the gateway started.")
        + " Blue figures are set here, the others come from the configuration file.";
  }

  function current() { return state.dsps.find((d) => d.name === state.selected); }

  async function select(name) {
    state.selected = name;
    state.preview = null;
    renderTable();
    const d = current();
    state.kind = d.settings.threshold !== null ? "threshold" : "recall_target";
    state.value = d.settings.threshold !== null ? d.settings.threshold : d.settings.recall_target;
    $("detail").hidden = false;
    renderDetail(true);
    try {
      state.curve = await api("GET", "/admin/api/dsps/" + encodeURIComponent(name) + "/curve");
    } catch (e) { showError(e); return; }
    if (state.selected === name) renderDetail(true);
  }

  // ---- detail: chart and controls ----

  function renderDetail(resetInputs) {
    const d = current();
    if (!d) return;
    const canManage = state.me && (state.me.role === "manager" || state.me.role === "admin");
    $("detail-title").textContent = d.name;
    $("detail-sub").textContent = d.settings.enabled ? "mode " + d.settings.mode : "paused";
    renderNow(d);
    renderChart(d);

    const kindRecall = state.kind === "recall_target";
    $("kind-recall").checked = kindRecall;
    $("kind-threshold").checked = !kindRecall;
    const range = $("target-range"), input = $("target-value");
    const [min, max, step] = kindRecall ? [0.5, 1, 0.001] : [0, 1, 0.0001];
    for (const el of [range, input]) { el.min = min; el.max = max; el.step = step; el.disabled = !canManage; }
    if (resetInputs) {
      range.value = state.value;
      input.value = state.value;
      $("exploration").value = d.settings.exploration_rate;
      $("qps").value = d.settings.qps_limit;
    }
    $("kind-recall").disabled = $("kind-threshold").disabled = !canManage;
    renderPreview();

    const pause = $("btn-pause");
    pause.textContent = d.settings.enabled ? "Pause DSP" : "Resume DSP";
    pause.className = d.settings.enabled ? "danger" : "primary";
    pause.disabled = !canManage;
    for (const m of ["filter", "shadow", "off"]) {
      const b = $("mode-" + m);
      b.classList.toggle("on", d.settings.mode === m);
      b.disabled = !canManage || d.settings.mode === m;
    }
    $("save-limits").disabled = !canManage;
    $("exploration").disabled = $("qps").disabled = !canManage;
  }

  function renderNow(d) {
    const op = d.operating_point;
    const box = $("op-now");
    if (!op) {
      box.replaceChildren(h("div", { class: "cap" }, "Operating point"), h("div", {}, "No model curve for this DSP: it is sent everything."));
      return;
    }
    put(box,
      h("div", { class: "cap" }, "Operating point now · threshold " + thr(op.threshold) + (op.source === "threshold" ? " (set by hand)" : op.source === "recall_target" ? " (for the recall target)" : "")),
      h("div", { class: "pair" },
        h("div", {}, h("div", { class: "big", id: "now-recall" }, pct(op.recall)), h("div", { class: "cap" }, "expected recall (≥ " + pct(op.recall_lower) + ")")),
        h("div", {}, h("div", { class: "big", id: "now-withheld" }, pct(op.withheld)), h("div", { class: "cap" }, "traffic withheld")),
      ),
      op.note ? h("div", { class: "cap" }, op.note) : null,
    );
  }

  // Chart: recall (y) against traffic withheld (x), the part of the curve with recall >= 0.5.
  function renderChart(d) {
    const svg = $("chart");
    const title = svg.querySelector("title");
    svg.replaceChildren(title);
    const W = 600, H = 380, L = 58, R = 20, T = 18, B = 48;
    const c = state.curve;
    if (!c || !c.curve.length) {
      svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" },
        c ? (c.note || "No curve for this DSP.") : "Loading the curve…"));
      $("curve-note").textContent = "";
      return;
    }
    // Zoom on recall 80-100% (where DSPs are run) unless a point of interest lies lower.
    const op = d.operating_point;
    const pv = state.preview && state.preview.preview;
    const target = state.kind === "recall_target" && state.value !== null && state.value !== "" ? Number(state.value) : d.settings.recall_target;
    const lowest = Math.min(target, op ? op.recall : 1, pv ? pv.recall : 1);
    const yMin = lowest >= 0.85 ? 0.8 : 0.5, yMax = 1, yStep = yMin === 0.8 ? 0.02 : 0.05;
    const pts = c.curve.filter((p) => p.recall >= yMin);
    let xMax = Math.max(0.05, ...pts.map((p) => p.withheld));
    xMax = Math.min(1, Math.ceil(xMax * 20) / 20);
    const x = (v) => L + (W - L - R) * Math.min(v, xMax) / xMax;
    const y = (v) => T + (H - T - B) * (yMax - Math.max(v, yMin)) / (yMax - yMin);

    const xStep = xMax <= 0.2 ? 0.02 : xMax <= 0.5 ? 0.05 : 0.1;
    for (let v = 0; v <= xMax + 1e-9; v += xStep) {
      svg.append(s("line", { x1: x(v), x2: x(v), y1: T, y2: H - B, class: "gridline" }));
      svg.append(s("text", { x: x(v), y: H - B + 16, "text-anchor": "middle", class: "tick" }, Math.round(v * 100) + "%"));
    }
    for (let v = yMin; v <= 1 + 1e-9; v += yStep) {
      svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "gridline" }));
      svg.append(s("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end", class: "tick" }, Math.round(v * 100) + "%"));
    }
    svg.append(s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    svg.append(s("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
    svg.append(s("text", { x: (L + W - R) / 2, y: H - 10, "text-anchor": "middle", class: "label" }, "traffic withheld"));
    svg.append(s("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", class: "label", transform: `rotate(-90 14 ${(T + H - B) / 2})` }, "bids kept (recall)"));

    const path = (key) => pts.map((p, i) => (i ? "L" : "M") + x(p.withheld).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ");
    svg.append(s("path", { d: path("recall_lower"), class: "lower" }));
    svg.append(s("path", { d: path("recall"), class: "curve" }));

    if (target >= yMin) svg.append(s("line", { x1: L, x2: W - R, y1: y(target), y2: y(target), class: "target" }));

    // The points, with guides to the axes; their figures go in the top-right corner, which
    // a falling curve leaves empty.
    const mark = (p, cls) => {
      const cx = x(p.withheld), cy = y(p.recall);
      svg.append(s("line", { x1: cx, x2: cx, y1: cy, y2: H - B, class: "guide " + cls }));
      svg.append(s("line", { x1: L, x2: cx, y1: cy, y2: cy, class: "guide " + cls }));
      svg.append(s("circle", { cx, cy, r: 6.5, class: cls === "preview" ? "pv" : "now", id: "pt-" + cls }));
    };
    const showPv = pv && (!op || pv.threshold !== op.threshold);
    if (op) mark(op, "now");
    if (showPv) mark(pv, "preview");
    let ly = T + 18;
    const legend = (p, cls, label) => {
      svg.append(s("circle", { cx: W - R - 262, cy: ly - 4, r: 5, class: cls === "preview" ? "pv" : "now" }));
      svg.append(s("text", { x: W - R - 250, y: ly, class: "ptlabel" + (cls === "preview" ? " preview" : "") },
        label + ": recall " + pct(p.recall) + ", withheld " + pct(p.withheld)));
      ly += 20;
    };
    if (op) legend(op, "now", "now");
    if (showPv) legend(pv, "preview", "preview");

    $("curve-note").textContent = (c.model ? "Model " + c.model.version + ". " : "")
      + "Trained for recall " + pct(c.trained_target) + " at threshold " + thr(c.trained_threshold) + "."
      + (c.ok ? "" : " " + (c.reason || "The model does not filter this DSP."));
  }

  // ---- preview and save ----

  let previewTimer = null;
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(fetchPreview, 120);
  }

  async function fetchPreview() {
    const d = current();
    const v = Number(state.value);
    if (!d || state.value === null || state.value === "" || isNaN(v)) { state.preview = null; renderPreview(); return; }
    const seq = ++state.previewSeq;
    try {
      const data = await api("GET", "/admin/api/dsps/" + encodeURIComponent(d.name) + "/curve?" + state.kind + "=" + encodeURIComponent(v));
      if (seq !== state.previewSeq) return;
      state.preview = data;
      state.previewError = null;
    } catch (e) {
      if (seq !== state.previewSeq) return;
      state.preview = null;
      state.previewError = e.message;
    }
    renderPreview();
    renderChart(d);
  }

  function changed() {
    const d = current();
    if (!d || state.value === null || state.value === "") return false;
    const v = Number(state.value);
    if (state.kind === "threshold") return d.settings.threshold === null || Math.abs(d.settings.threshold - v) > 1e-12;
    return d.settings.threshold !== null || Math.abs(d.settings.recall_target - v) > 1e-12;
  }

  function renderPreview() {
    const box = $("preview-text");
    const d = current();
    const canManage = state.me && (state.me.role === "manager" || state.me.role === "admin");
    $("save-target").disabled = !canManage || !state.preview || !state.preview.preview || !changed();
    if (state.previewError) { box.replaceChildren(h("span", { class: "error" }, state.previewError)); return; }
    const p = state.preview && state.preview.preview;
    if (!p) {
      box.replaceChildren(h("span", { class: "muted" }, canManage ? "Move the slider to preview a new operating point." : "Your role may look, not change."));
      return;
    }
    const op = d.operating_point;
    const delta = (a, b) => (a >= b ? "+" : "−") + (100 * Math.abs(a - b)).toFixed(1) + " pt";
    put(box,
      h("div", {}, "Expected recall ", h("b", { id: "pv-recall" }, pct(p.recall)),
        " (≥ " + pct(p.recall_lower) + ") · traffic withheld ", h("b", { id: "pv-withheld" }, pct(p.withheld))),
      h("div", { class: "delta" }, "threshold " + thr(p.threshold)
        + (op ? " · recall " + delta(p.recall, op.recall) + ", withheld " + delta(p.withheld, op.withheld) + " against now" : "")),
      p.note ? h("div", { class: "delta" }, p.note) : null,
    );
  }

  function confirmDialog(title, body) {
    const dlg = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-body").replaceChildren(...body);
    return new Promise((resolve) => {
      const done = (ok) => {
        $("confirm-ok").onclick = $("confirm-cancel").onclick = dlg.oncancel = null;
        dlg.close();
        resolve(ok);
      };
      $("confirm-ok").onclick = () => done(true);
      $("confirm-cancel").onclick = () => done(false);
      dlg.oncancel = (e) => { e.preventDefault(); done(false); };
      dlg.showModal();
      $("confirm-ok").focus();
    });
  }

  async function patch(name, body, what) {
    try {
      const res = await api("PATCH", "/admin/api/dsps/" + encodeURIComponent(name), body);
      const n = res.changes.length;
      flash(n ? what + " saved for " + name + " (" + n + " audit entr" + (n === 1 ? "y" : "ies") + ")." : "Nothing changed.", "ok");
      const i = state.dsps.findIndex((d) => d.name === name);
      if (i >= 0) state.dsps[i] = res.dsp;
      state.preview = null;
      renderTable();
      if (state.selected === name) {
        const d = current();
        state.kind = d.settings.threshold !== null ? "threshold" : "recall_target";
        state.value = d.settings.threshold !== null ? d.settings.threshold : d.settings.recall_target;
        renderDetail(true);
      }
      loadAudit(true);
      return true;
    } catch (e) {
      showError(e);
      return false;
    }
  }

  async function saveTarget() {
    const d = current();
    const p = state.preview && state.preview.preview;
    if (!d || !p) return;
    const op = d.operating_point;
    const v = Number(state.value);
    const label = state.kind === "recall_target" ? "recall target" : "threshold";
    const from = state.kind === "recall_target" ? pct(d.settings.recall_target) : thr(d.settings.threshold);
    const to = state.kind === "recall_target" ? pct(v) : thr(v);
    const row = (k, a, b) => h("tr", {}, h("td", {}, k), h("td", {}, a), h("td", { class: "arrow" }, "→"), h("td", {}, h("b", {}, b)));
    const ok = await confirmDialog("Change " + d.name + "'s " + label + "?", [
      h("table", {},
        row(label, from, to),
        row("expected recall", op ? pct(op.recall) : "–", pct(p.recall)),
        row("traffic withheld", op ? pct(op.withheld) : "–", pct(p.withheld)),
      ),
      h("p", { class: "muted small" }, "Live on every gateway within a second, and written to the audit trail."),
    ]);
    if (!ok) return;
    const body = state.kind === "recall_target" ? { recall_target: v, threshold: null } : { threshold: v };
    await patch(d.name, body, label[0].toUpperCase() + label.slice(1));
  }

  async function setEnabled() {
    const d = current();
    const on = !d.settings.enabled;
    const ok = await confirmDialog((on ? "Resume " : "Pause ") + d.name + "?", [
      h("p", {}, on ? "The DSP gets traffic again under its settings." : "The DSP gets no request at all until resumed."),
    ]);
    if (ok) await patch(d.name, { enabled: on }, on ? "Resume" : "Pause");
  }

  async function setMode(mode) {
    const d = current();
    const what = { filter: "filter: send only what the model expects to be bid on (plus exploration)",
      shadow: "shadow: decide and log, but send everything", off: "off: no model, send everything" }[mode];
    const ok = await confirmDialog("Switch " + d.name + " to " + mode + "?", [h("p", {}, "Mode " + what + ".")]);
    if (ok) await patch(d.name, { mode }, "Mode");
  }

  async function saveLimits() {
    const d = current();
    const e = Number($("exploration").value), q = Number($("qps").value);
    const body = {};
    if (e !== d.settings.exploration_rate) body.exploration_rate = e;
    if (q !== d.settings.qps_limit) body.qps_limit = q;
    if (!Object.keys(body).length) { flash("Nothing changed.", "ok"); return; }
    const row = (k, a, b) => h("tr", {}, h("td", {}, k), h("td", {}, a), h("td", { class: "arrow" }, "→"), h("td", {}, h("b", {}, b)));
    const ok = await confirmDialog("Change " + d.name + "'s limits?", [h("table", {},
      "exploration_rate" in body ? row("exploration", pct(d.settings.exploration_rate), pct(e)) : null,
      "qps_limit" in body ? row("QPS cap", num(d.settings.qps_limit), num(q)) : null)]);
    if (ok) await patch(d.name, body, "Limits");
  }

  // ---- audit ----

  async function loadAudit(reset) {
    const tbody = $("audit-table").tBodies[0];
    let q = "/admin/api/audit?limit=25";
    if (!reset && state.auditNext) q += "&before=" + state.auditNext;
    let data;
    try { data = await api("GET", q); } catch (e) { showError(e); return; }
    const fmt = (raw) => raw === null ? "null" : typeof raw === "string" ? raw : JSON.stringify(raw);
    const rows = data.entries.map((e) => h("tr", { "data-id": e.id },
      h("td", {}, e.at.replace("T", " ").replace(/\.\d+Z$/, "").replace("Z", "")),
      h("td", {}, e.who),
      h("td", {}, e.dsp || "—"),
      h("td", {}, e.field),
      h("td", { class: "val old" }, fmt(e.old)),
      h("td", { class: "arrow" }, "→"),
      h("td", { class: "val new" }, fmt(e.new)),
    ));
    if (reset) tbody.replaceChildren(...rows); else tbody.append(...rows);
    if (reset && !rows.length) tbody.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "muted" }, data.note || "No change yet.")));
    state.auditNext = data.next;
    $("audit-older").hidden = !data.next;
  }

  // ---- messages ----

  let flashTimer = null;
  function flash(msg, kind) {
    const b = $("banner");
    b.hidden = false; b.className = "banner " + (kind || "");
    b.textContent = msg;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { if (!b.classList.contains("bad") || kind === "bad") b.hidden = true; }, 6000);
  }

  function showError(e) {
    if (e && e.status === 401) return;
    flash(e && e.message ? e.message : String(e), "bad");
  }

  // ---- wiring ----

  function onValue(v) {
    state.value = v;
    $("target-range").value = v;
    $("target-value").value = v;
    schedulePreview();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("token").value.trim();
      if (t) signIn(t);
    });
    $("signout").addEventListener("click", () => signOut("Signed out."));
    $("target-range").addEventListener("input", (e) => onValue(e.target.value));
    $("target-value").addEventListener("input", (e) => {
      state.value = e.target.value;
      if (e.target.value !== "") $("target-range").value = e.target.value;
      schedulePreview();
    });
    for (const id of ["kind-recall", "kind-threshold"]) {
      $(id).addEventListener("change", (e) => {
        const d = current();
        state.kind = e.target.value;
        state.preview = null;
        state.value = state.kind === "recall_target" ? d.settings.recall_target
          : (d.settings.threshold !== null ? d.settings.threshold : (d.operating_point ? d.operating_point.threshold : 0.5));
        renderDetail(false);
        onValue(state.value);
      });
    }
    $("save-target").addEventListener("click", saveTarget);
    $("btn-pause").addEventListener("click", setEnabled);
    for (const m of ["filter", "shadow", "off"]) $("mode-" + m).addEventListener("click", () => setMode(m));
    $("save-limits").addEventListener("click", saveLimits);
    $("audit-older").addEventListener("click", () => loadAudit(false));

    if (sessionStorage.getItem(TOKEN_KEY)) signIn(sessionStorage.getItem(TOKEN_KEY));
    else signOut("");
  });
})();
