// Model history (GET /admin/api/model/history) and rollback (POST /admin/api/model/rollback,
// admin role): its own section of the page, kept apart from app.js's DSP table. It calls
// the API through app.js's function, with the token app.js keeps in sessionStorage, and
// polls every 30 s while the page is shown.
(function () {
  "use strict";
  const TOKEN_KEY = "bidsieve.token";
  const $ = (id) => document.getElementById(id);

  // call is app.js's API call (app.js runs first: both scripts are deferred, in order).
  const call = (method, path, body) => window.bidsieveAPI(method, path, body);

  const pct = (x) => (x === null || x === undefined) ? "–" : (100 * x).toFixed(1) + "%";
  const num = (x, d) => (x === null || x === undefined) ? "–" : Number(x).toFixed(d);
  const day = (t) => t ? String(t).slice(0, 10) : "–";

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function render(data) {
    const body = $("history-table").querySelector("tbody");
    body.replaceChildren();
    $("history-note").textContent = data.note || (data.in_force ? "in force: " + data.in_force : "no model in force");
    for (const e of data.entries) {
      const dsps = (e.dsps && e.dsps.length) ? e.dsps : [null];
      dsps.forEach((d, i) => {
        const tr = document.createElement("tr");
        if (i === 0) {
          const span = dsps.length;
          const first = [e.version + (e.version === data.in_force ? " (in force)" : ""), e.status,
            day(e.window_start) + " .. " + day(e.held_out_day), String(e.train_rows) + " / " + String(e.held_out_rows)];
          first.forEach((t, k) => { const td = cell(tr, t, k === 1 ? "status-" + e.status : ""); td.rowSpan = span; });
        }
        if (d) {
          cell(tr, d.dsp);
          const c = d.challenger || {}, p = d.champion;
          cell(tr, num(c.auc, 3) + (p ? " (" + num(p.auc, 3) + ")" : ""));
          cell(tr, num(c.recall, 3) + " ≥" + num(c.recall_lower, 3) + (p ? " (" + num(p.recall, 3) + ")" : ""));
          cell(tr, pct(c.withheld) + (p ? " (" + pct(p.withheld) + ")" : ""));
          cell(tr, d.verdict + (d.reason ? ": " + d.reason : ""));
        } else {
          cell(tr, (e.reasons || []).join("; ") || "–").colSpan = 5;
        }
        if (i === 0) {
          const td = cell(tr, "");
          td.rowSpan = dsps.length;
          if (e.has_model && e.version !== data.in_force) {
            const b = document.createElement("button");
            b.type = "button"; b.className = "link"; b.textContent = "Roll back to this";
            b.addEventListener("click", () => rollback(e.version));
            td.appendChild(b);
          }
        }
        body.appendChild(tr);
      });
    }
  }

  async function load() {
    if (!sessionStorage.getItem(TOKEN_KEY) || $("app").hidden) return;
    try { render(await call("GET", "/admin/api/model/history")); $("history-error").hidden = true; }
    catch (err) { $("history-error").textContent = err.message; $("history-error").hidden = false; }
  }

  async function rollback(version) {
    if (!window.confirm("Serve model " + version + " instead of the model in force? (admin role; audited)")) return;
    try {
      const r = await call("POST", "/admin/api/model/rollback", { version });
      $("history-note").textContent = "rolled back: in force " + (r.model ? r.model.version : "none");
      load();
    } catch (err) { $("history-error").textContent = "Rollback refused: " + err.message; $("history-error").hidden = false; }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("history-refresh").addEventListener("click", load);
    new MutationObserver(load).observe($("app"), { attributes: true, attributeFilter: ["hidden"] });
    load();
    setInterval(load, 30000);
  });
})();
