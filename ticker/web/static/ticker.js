// ticker's page, enhanced: live alerts over server-sent events, filters without reloading,
// the status panel refreshed. The page works without this script (a plain list and a form).
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("token");
  const withToken = (path) => token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;
  const list = document.getElementById("alerts");
  const form = document.getElementById("filters");
  const live = document.getElementById("live");
  if (!list || !form) return;

  function fold(text) { return (text || "").toLocaleLowerCase(); }
  function wanted(article) {
    const source = form.elements.source.value;
    const menu = form.elements.attribution;
    const who = menu.value ? menu.options[menu.selectedIndex].dataset.key : "";
    const text = fold(form.elements.q.value.trim());
    if (source && article.dataset.source !== source) return false;
    if (who && article.dataset.attribution !== who) return false;
    return !text || fold(article.textContent).includes(text);
  }
  function applyFilters() {
    for (const block of list.querySelectorAll("li.block")) {
      let any = false;
      for (const article of block.querySelectorAll(":scope > article.alert")) {
        const keep = wanted(article) || [...article.querySelectorAll("article.alert")].some(wanted);
        article.hidden = !keep;
        any = any || keep;
      }
      block.hidden = !any;
    }
  }
  form.addEventListener("input", applyFilters);
  form.addEventListener("change", applyFilters);
  form.addEventListener("submit", (event) => { event.preventDefault(); applyFilters(); });

  function place(html, alert) {
    if (document.getElementById("a" + alert.id)) return;  // already on the page
    const template = document.createElement("template");
    template.innerHTML = html;  // rendered and escaped by the server
    const article = template.content.firstElementChild;
    const story = alert.kind === "update" && alert.updates_id && document.getElementById("a" + alert.updates_id);
    if (story) {
      story.querySelector(":scope > .updates").append(article);
      return;
    }
    const block = list.querySelector('li.block[data-group="' + alert.group + '"]');
    if (block) {
      block.append(article);
      block.classList.add("burst");
      return;
    }
    const item = document.createElement("li");
    item.className = "block fresh";
    item.dataset.group = String(alert.group);
    item.append(article);
    const empty = list.querySelector("li.empty");
    if (empty) empty.remove();
    list.prepend(item);
  }

  function connect() {
    const after = document.body.dataset.last || "0";
    const source = new EventSource(withToken("/events?after=" + encodeURIComponent(after)));
    source.addEventListener("open", () => { live.textContent = "live"; live.classList.add("on"); });
    source.addEventListener("error", () => { live.textContent = "reconnecting"; live.classList.remove("on"); });
    source.addEventListener("alert", (event) => {
      const data = JSON.parse(event.data);
      place(data.html, data.alert);
      document.body.dataset.last = String(data.alert.id);
      applyFilters();
    });
  }

  function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.append(td); }
  function shortTime(iso) { return iso ? new Date(iso).toLocaleTimeString() : "-"; }
  async function refreshStatus() {
    try {
      const response = await fetch(withToken("/api/status"), { cache: "no-store" });
      if (!response.ok) return;
      const status = await response.json();
      const sources = document.getElementById("sources");
      const channels = document.getElementById("channels");
      sources.replaceChildren(...status.sources.map((s) => {
        const row = document.createElement("tr");
        row.className = "health-" + (s.health || "-");
        if (s.error) row.title = s.error;
        for (const text of [s.name, s.last_poll ? shortTime(s.last_poll) : "never", s.result || "-",
          String(s.consecutive_failures), shortTime(s.next_poll)]) cell(row, text);
        return row;
      }));
      channels.replaceChildren(...status.channels.map((c) => {
        const row = document.createElement("tr");
        for (const text of [c.name, String(c.pending), String(c.failed), c.last_error || "-"]) cell(row, text);
        return row;
      }));
    } catch (error) { /* the next refresh tries again */ }
  }

  applyFilters();
  connect();
  setInterval(refreshStatus, 15000);
})();
