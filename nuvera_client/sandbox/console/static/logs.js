// The request log's live update: poll for newer rows and add them on top.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("[data-log]");
  const toggle = document.querySelector("[data-live]");
  const status = document.querySelector("[data-live-status]");
  if (!table || !toggle) return;
  const body = table.querySelector("tbody");
  let lastId = Number(table.dataset.lastId || 0);
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  async function poll() {
    if (!toggle.checked) return;
    const query = new URLSearchParams(window.location.search);
    query.set("after", String(lastId));
    try {
      const response = await fetch("/console/requests/feed?" + query.toString(),
        { credentials: "same-origin", headers: { accept: "application/json" } });
      if (!response.ok) return;
      const rows = await response.json();
      for (const row of rows.reverse()) {
        const tr = document.createElement("tr");
        tr.append(cell(row.at), cell(row.method));
        const target = document.createElement("td");
        const a = document.createElement("a");
        a.href = "/console/requests/" + row.id;
        const code = document.createElement("code");
        code.textContent = row.target;
        a.append(code);
        target.append(a);
        tr.append(target);
        const st = cell(String(row.status));
        st.className = "http http-" + Math.floor(row.status / 100) + "xx";
        tr.append(st, cell(row.error_code), cell(row.application_id || "—"));
        body.prepend(tr);
        lastId = Math.max(lastId, row.id);
      }
      if (rows.length) {
        status.textContent = rows.length + " new request(s).";
        const empty = document.querySelector("[data-empty]");
        if (empty) empty.remove();
      }
    } catch (err) {
      // The server stopped: keep the page as it is.
    }
  }
  setInterval(poll, 2000);
});
