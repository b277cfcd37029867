// The trend chart (GET /admin/api/trend): one DSP's live recall estimate, with its 95%
// interval as a band, and its traffic withheld over the last days, with the model versions
// in force marked. Its own section of the page, like history.js; it reads the token app.js
// keeps in sessionStorage and polls every 30 s while the page is shown.
(function () {
  "use strict";
  const TOKEN_KEY = "bidsieve.token";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let data = null;

  function s(tag, attrs, text) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  async function call(path) {
    const res = await fetch(path, { headers: { "Authorization": "Bearer " + sessionStorage.getItem(TOKEN_KEY) },
      credentials: "omit", cache: "no-store" });
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) throw new Error((body && body.error) || ("HTTP " + res.status));
    return body;
  }

  // The DSPs named in any point, sorted; the select keeps its choice across refreshes.
  function fillSelect() {
    const names = new Set();
    for (const p of data.points) for (const n of Object.keys(p.dsps || {})) names.add(n);
    const sel = $("trend-dsp"), keep = sel.value;
    const sorted = [...names].sort();
    sel.replaceChildren(...sorted.map((n) => { const o = document.createElement("option"); o.value = o.textContent = n; return o; }));
    if (sorted.includes(keep)) sel.value = keep;
  }

  const when = (t) => String(t).slice(5, 16).replace("T", " ");

  function render() {
    const svg = $("trend-chart");
    svg.replaceChildren(svg.querySelector("title"));
    const W = 900, H = 300, L = 50, R = 20, T = 16, B = 40;
    const dsp = $("trend-dsp").value;
    const pts = data.points.filter((p) => p.dsps && p.dsps[dsp]);
    $("trend-note").textContent = data.note || (pts.length ? pts.length + " points, " + when(pts[0].at) + " .. " + when(pts[pts.length - 1].at) + " UTC" : "");
    if (pts.length < 1) {
      svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, data.note || "No trend recorded yet."));
      return;
    }
    const t0 = Date.parse(data.points[0].at), t1 = Math.max(Date.parse(data.points[data.points.length - 1].at), t0 + 1);
    const x = (t) => L + (W - L - R) * (Date.parse(t) - t0) / (t1 - t0);
    const y = (v) => T + (H - T - B) * (1 - v);
    for (let v = 0; v <= 1.0001; v += 0.2) {
      svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "gridline" }));
      svg.append(s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, Math.round(v * 100) + "%"));
    }
    const day = 86400000;
    for (let t = Math.ceil(t0 / day) * day; t <= t1; t += day) {
      const iso = new Date(t).toISOString();
      svg.append(s("line", { x1: x(iso), x2: x(iso), y1: T, y2: H - B, class: "gridline" }));
      svg.append(s("text", { x: x(iso), y: H - B + 16, "text-anchor": "middle", class: "tick" }, iso.slice(5, 10)));
    }
    svg.append(s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    svg.append(s("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));

    // The recall band and line, broken where the recall could not be estimated.
    const runs = [];
    let run = [];
    for (const p of pts) {
      const r = p.dsps[dsp].recall;
      if (r) run.push([p.at, r]); else if (run.length) { runs.push(run); run = []; }
    }
    if (run.length) runs.push(run);
    for (const r of runs) {
      const up = r.map(([t, v]) => x(t).toFixed(1) + "," + y(v.upper).toFixed(1));
      const lo = r.slice().reverse().map(([t, v]) => x(t).toFixed(1) + "," + y(v.lower).toFixed(1));
      svg.append(s("polygon", { points: up.concat(lo).join(" "), class: "recall-band" }));
      svg.append(s("path", { d: r.map(([t, v], i) => (i ? "L" : "M") + x(t).toFixed(1) + "," + y(v.estimate).toFixed(1)).join(" "), class: "curve recall-line" }));
    }
    svg.append(s("path", { d: pts.map((p, i) => (i ? "L" : "M") + x(p.at).toFixed(1) + "," + y(p.dsps[dsp].withheld).toFixed(1)).join(" "), class: "withheld" }));
    for (const p of pts) if (p.dsps[dsp].drift) svg.append(s("circle", { cx: x(p.at), cy: T + 4, r: 3, class: "drift" }));

    for (const m of data.models) {
      svg.append(s("line", { x1: x(m.at), x2: x(m.at), y1: T, y2: H - B, class: "version" }));
      svg.append(s("text", { x: x(m.at) + 3, y: T + 12, class: "version-label" }, m.version || "no model"));
    }
    const ly = H - 8;
    svg.append(s("line", { x1: L, x2: L + 24, y1: ly - 4, y2: ly - 4, class: "curve" }));
    svg.append(s("text", { x: L + 30, y: ly, class: "tick" }, "live recall (band: 95% interval)"));
    svg.append(s("line", { x1: L + 260, x2: L + 284, y1: ly - 4, y2: ly - 4, class: "withheld" }));
    svg.append(s("text", { x: L + 290, y: ly, class: "tick" }, "traffic withheld"));
    svg.append(s("circle", { cx: L + 420, cy: ly - 4, r: 3, class: "drift" }));
    svg.append(s("text", { x: L + 428, y: ly, class: "tick" }, "drift guard"));
  }

  async function load() {
    if (!sessionStorage.getItem(TOKEN_KEY) || $("app").hidden) return;
    try {
      data = await call("/admin/api/trend");
      $("trend-error").hidden = true;
      fillSelect();
      render();
    } catch (err) { $("trend-error").textContent = err.message; $("trend-error").hidden = false; }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("trend-dsp").addEventListener("change", () => { if (data) render(); });
    new MutationObserver(load).observe($("app"), { attributes: true, attributeFilter: ["hidden"] });
    load();
    setInterval(load, 30000);
  });
})();
