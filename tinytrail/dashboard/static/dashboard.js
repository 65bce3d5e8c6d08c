// TinyTrail site dashboard. Plain JS, no build step, no dependencies.
//
// All numbers come from Stats API v2 queries sent to /dashboard/api/<domain>/query, the same
// parser and engine as POST /api/v2/query. The view (period, filters, graph metric, interval,
// comparison) lives in the URL, so any view can be bookmarked, shared and restored by Back.
"use strict";
(function () {
  const cfg = JSON.parse(document.getElementById("tt-config").textContent);
  const $ = (id) => document.getElementById(id);
  const REFRESH_REALTIME_MS = 10000;
  const ROWS_SHOWN = 9;
  const COMPARE_MODES = ["previous_period", "year_over_year"];

  const METRIC_LABELS = {
    visitors: "Unique visitors", visits: "Total visits", pageviews: "Total pageviews",
    views_per_visit: "Views per visit", bounce_rate: "Bounce rate",
    visit_duration: "Visit duration", events: "Total conversions",
    conversion_rate: "Conversion rate", percentage: "%",
  };
  const LABELS = {
    "visit:channel": "Channel", "visit:source": "Source", "visit:utm_medium": "UTM medium",
    "visit:utm_source": "UTM source", "visit:utm_campaign": "UTM campaign",
    "visit:utm_content": "UTM content", "visit:utm_term": "UTM term", "event:page": "Page",
    "visit:entry_page": "Entry page", "visit:exit_page": "Exit page", "visit:country": "Country",
    "visit:region": "Region", "visit:city": "City", "visit:browser": "Browser",
    "visit:os": "Operating system", "visit:device": "Device", "event:goal": "Goal",
    "event:hostname": "Hostname",
  };

  // -- the view, read from and written to the URL ------------------------------------------

  function readState() {
    const p = new URLSearchParams(location.search);
    const filters = p.getAll("f").map(parseFilter).filter(Boolean);
    // Names shown for filter values that are codes (country, region, city), as `l=value,name`.
    const labels = {};
    for (const text of p.getAll("l")) {
      const comma = text.indexOf(",");
      if (comma > 0) labels[text.slice(0, comma)] = text.slice(comma + 1);
    }
    return {
      period: p.get("period") || "30d",
      from: p.get("from") || "", to: p.get("to") || "",
      compare: COMPARE_MODES.includes(p.get("compare")) ? p.get("compare") : "",
      interval: p.get("interval") || "",
      metric: p.get("metric") || "visitors",
      filters, labels,
      tabs: {},
    };
  }

  function parseFilter(text) {
    const first = text.indexOf(","), second = text.indexOf(",", first + 1);
    if (first < 0 || second < 0) return null;
    return [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
  }

  function urlFor(s) {
    const p = new URLSearchParams();
    const keep = new URLSearchParams(location.search);
    for (const name of ["auth", "embed"]) if (keep.get(name)) p.set(name, keep.get(name));
    p.set("period", s.period);
    if (s.period === "custom") { p.set("from", s.from); p.set("to", s.to); }
    if (s.compare) p.set("compare", s.compare);
    if (s.interval) p.set("interval", s.interval);
    if (s.metric !== "visitors") p.set("metric", s.metric);
    for (const f of s.filters) p.append("f", f.join(","));
    for (const f of s.filters) if (s.labels[f[2]]) p.append("l", f[2] + "," + s.labels[f[2]]);
    return location.pathname + "?" + p.toString();
  }

  let state = readState();

  function go(changes) {
    state = Object.assign({}, state, changes);
    history.pushState(null, "", urlFor(state));
    load();
  }

  window.addEventListener("popstate", () => { const tabs = state.tabs; state = readState(); state.tabs = tabs; load(); });

  // -- queries ------------------------------------------------------------------------------

  function dateRange() {
    if (state.period === "custom" && state.from && state.to) return [state.from, state.to];
    return state.period === "custom" ? "30d" : state.period;
  }

  const realtime = () => state.period === "realtime";
  // Realtime panels, stats, funnels and CSVs cover the last 30 minutes (Plausible's "30m");
  // only "current visitors" counts the last 5.
  const panelRange = () => (realtime() ? "30m" : dateRange());
  // Plausible offers no comparison for realtime and all time.
  const comparable = () => !realtime() && state.period !== "all";

  function v2Filters(extra) {
    return state.filters.concat(extra || []).map(([op, dim, value]) => [op, dim, [value]]);
  }

  async function query(q, comparison) {
    const auth = cfg.auth ? "?auth=" + encodeURIComponent(cfg.auth) : "";
    const url = "/dashboard/api/" + encodeURIComponent(cfg.domain) + "/query" + auth;
    const body = { query: Object.assign({ date_range: dateRange(), filters: v2Filters() }, q) };
    if (comparison) body.comparison = comparison;
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ error: "HTTP " + response.status }));
    if (!response.ok) throw new Error(answer.error || "HTTP " + response.status);
    return answer;
  }

  // -- formatting ---------------------------------------------------------------------------

  function formatNumber(n) {
    if (n === null || n === undefined) return "–";
    if (typeof n === "object" && "value" in n) return n.short || String(n.value);
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
    if (Math.abs(n) >= 1e5) return Math.round(n / 1e3) + "k";
    return Number(n).toLocaleString("en-US", { maximumFractionDigits: 2 });
  }

  function formatDuration(s) {
    if (s === null || s === undefined) return "–";
    const m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (h) return h + "h " + (m % 60) + "m";
    return m ? m + "m " + Math.round(s % 60) + "s" : Math.round(s) + "s";
  }

  function formatMetric(metric, value) {
    if (metric === "visit_duration") return formatDuration(value);
    if (metric === "bounce_rate" || metric === "conversion_rate" || metric === "percentage") {
      return value === null || value === undefined ? "–" : value + "%";
    }
    return formatNumber(value);
  }

  // Plausible's rule: percentage change, except rates, which change by points.
  function change(metric, now, before) {
    if (now === null || before === null || now === undefined || before === undefined) return null;
    if (metric === "bounce_rate" || metric === "conversion_rate") return Math.round(now - before);
    if (before === 0) return now > 0 ? 100 : 0;
    return Math.round(((now - before) / before) * 100);
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function showError(error) {
    const status = $("status");
    status.textContent = error ? String(error.message || error) : "";
    status.hidden = !error;
  }

  // -- top stats and the graph ----------------------------------------------------------------

  function topMetrics() {
    if (realtime()) return ["visitors", "pageviews"];
    if (state.filters.some((f) => f[1] === "event:goal")) return ["visitors", "events", "conversion_rate"];
    const metrics = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"];
    // Plausible: views per visit means nothing once pages are filtered.
    return state.filters.some((f) => f[1] === "event:page") ? metrics.filter((m) => m !== "views_per_visit") : metrics;
  }

  async function loadTopStats() {
    const metrics = topMetrics();
    if (!metrics.includes(state.metric)) state.metric = metrics[0];
    // Top stats show a change against the chosen comparison, else the previous period (none
    // for realtime and all time).
    const comparison = comparable() ? state.compare || "previous_period" : null;
    const answer = await query({ metrics, date_range: panelRange() }, comparison);
    const now = answer.results[0] ? answer.results[0].metrics : [];
    const before = answer.comparison && answer.comparison.results[0] ? answer.comparison.results[0].metrics : [];
    const box = $("top-stats");
    box.replaceChildren();
    if (realtime()) box.append(currentVisitorsStat());
    metrics.forEach((metric, i) => {
      const delta = comparison ? change(metric, now[i], before[i]) : null;
      const better = metric === "bounce_rate" ? delta < 0 : delta > 0;
      const label = realtime() ? METRIC_LABELS[metric] + " (last 30 min)" : goalLabel(metric);
      const button = el("button", {
        type: "button", class: "stat" + (metric === state.metric ? " active" : ""),
        "data-metric": metric, "aria-pressed": String(metric === state.metric),
        onclick: () => go({ metric }),
      },
      el("span", { class: "stat-label", text: label }),
      el("span", { class: "stat-value", text: formatMetric(metric, now[i]), "data-value": String(now[i]), title: String(now[i]) }),
      delta === null ? null : el("span", {
        class: "stat-change " + (delta === 0 ? "" : better ? "up" : "down"),
        text: (delta > 0 ? "↑ " : delta < 0 ? "↓ " : "") + Math.abs(delta) + (metric.endsWith("rate") ? " pts" : "%"),
        title: comparison === "year_over_year" ? "Compared with a year before" : "Compared with the previous period",
      }));
      box.append(button);
    });
  }

  function goalLabel(metric) {
    if (!state.filters.some((f) => f[1] === "event:goal")) return METRIC_LABELS[metric];
    return { visitors: "Unique conversions", events: "Total conversions", conversion_rate: "Conversion rate" }[metric];
  }

  function currentVisitorsStat() {
    return el("div", { class: "stat" },
      el("span", { class: "stat-label", text: "Current visitors" }),
      el("span", { class: "stat-value", id: "realtime-count", text: $("current-visitors").textContent }));
  }

  function intervals() {
    const p = state.period;
    if (p === "day" || p === "24h") return ["hour"];
    if (p === "7d") return ["hour", "day"];
    if (p === "30d" || p === "month") return ["day", "week"];
    if (p === "custom" && state.from && state.to) {
      const days = (new Date(state.to) - new Date(state.from)) / 864e5 + 1;
      if (days <= 1) return ["hour"];
      if (days <= 7) return ["hour", "day"];
      return days <= 31 ? ["day", "week"] : ["day", "week", "month"];
    }
    return ["day", "week", "month"];
  }

  function defaultInterval(allowed) {
    if (state.period === "6mo" || state.period === "12mo" || state.period === "year" || state.period === "all") return "month";
    return allowed.includes("day") ? "day" : allowed[0];
  }

  function graphInterval() {
    const allowed = intervals();
    return allowed.includes(state.interval) ? state.interval : defaultInterval(allowed);
  }

  async function loadGraph() {
    const card = document.querySelector(".graph-card");
    card.hidden = realtime();
    if (realtime()) return;
    const allowed = intervals();
    const select = $("interval");
    for (const option of select.options) option.hidden = option.disabled = !allowed.includes(option.value);
    const interval = graphInterval();
    select.value = interval;
    const metric = state.metric;
    $("graph-title").textContent = goalLabel(metric);
    const answer = await timeSeries([metric], interval, comparable() ? state.compare || null : null);
    const one = (points) => points && points.map((p) => ({ label: p.label, value: p.values[0] }));
    drawGraph(metric, one(answer.now), one(answer.before));
  }

  // Metrics per time bucket. The engine groups neither views per visit nor the conversion rate
  // by time, so these come as Plausible's dashboard computes them: pageviews / visits per
  // bucket, and the bucket's own conversion rate (group_conversion_rate). A session metric in
  // the query keeps visits counted on sessions, as in the top stats and the Visits graph. The
  // range ends at the present (trim_relative_date_range), so today, this month and this year
  // have no future buckets; past buckets without data are 0.
  const PER_BUCKET = { views_per_visit: ["pageviews", "visits", "bounce_rate"], conversion_rate: ["group_conversion_rate"] };

  async function timeSeries(metrics, interval, comparison) {
    const asked = [...new Set(metrics.flatMap((m) => PER_BUCKET[m] || [m]))];
    const answer = await query({
      metrics: asked, dimensions: ["time:" + interval], date_range: panelRange(),
      include: { time_labels: true, trim_relative_date_range: true },
    }, comparison);
    const points = (a) => {
      const rows = new Map(a.results.map((r) => [r.dimensions[0], r.metrics]));
      return (a.meta.time_labels || []).map((label) => {
        const row = rows.get(label);
        const get = (m) => (row ? Number(row[asked.indexOf(m)]) || 0 : 0);
        const value = (m) => m === "views_per_visit"
          ? (get("visits") ? Math.round((100 * get("pageviews")) / get("visits")) / 100 : 0)
          : get((PER_BUCKET[m] || [m])[0]);
        return { label, values: metrics.map(value) };
      });
    };
    return { now: points(answer), before: answer.comparison ? points(answer.comparison) : null };
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  function drawGraph(metric, points, previous) {
    const box = $("graph");
    const width = Math.max(box.clientWidth, 280), height = 220;
    const pad = { left: 44, right: 12, top: 12, bottom: 28 };
    const all = points.concat(previous || []).map((p) => Number(p.value) || 0);
    const top = axisTop(Math.max(0, ...all), metric);
    const x = (i) => pad.left + (points.length < 2 ? 0 : (i * (width - pad.left - pad.right)) / (points.length - 1));
    const y = (v) => height - pad.bottom - ((Number(v) || 0) / top) * (height - pad.top - pad.bottom);
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart" });
    for (const f of [0, 0.5, 1]) {
      const gy = y(top * f);
      chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: gy, y2: gy, class: "grid" }));
      const t = svg("text", { x: pad.left - 6, y: gy + 4, class: "axis", "text-anchor": "end" });
      t.textContent = formatMetric(metric, metric === "visit_duration" ? Math.round(top * f) : +(top * f).toFixed(2));
      chart.append(t);
    }
    const step = Math.max(1, Math.ceil(points.length / Math.max(2, Math.floor(width / 90))));
    const years = new Set(points.map((p) => String(p.label).slice(0, 4))).size > 1;
    const monthly = graphInterval() === "month";
    points.forEach((p, i) => {
      if (i % step) return;
      const t = svg("text", { x: x(i), y: height - 8, class: "axis", "text-anchor": "middle" });
      t.textContent = shortLabel(p.label, monthly, years);
      chart.append(t);
    });
    const line = (pts) => pts.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
    if (previous) chart.append(svg("polyline", { points: line(previous.slice(0, points.length)), class: "line previous" }));
    if (points.length) {
      const area = `${x(0)},${y(0)} ${line(points)} ${x(points.length - 1)},${y(0)}`;
      chart.append(svg("polygon", { points: area, class: "area" }));
      chart.append(svg("polyline", { points: line(points), class: "line" }));
    }
    const marker = svg("circle", { r: 4, class: "marker", visibility: "hidden" });
    chart.append(marker);
    const tip = el("div", { class: "tip", hidden: true });
    chart.addEventListener("mousemove", (event) => {
      const rect = chart.getBoundingClientRect();
      const px = ((event.clientX - rect.left) / rect.width) * width;
      const i = Math.max(0, Math.min(points.length - 1, Math.round(((px - pad.left) / (width - pad.left - pad.right)) * (points.length - 1))));
      const p = points[i];
      if (!p) return;
      marker.setAttribute("cx", x(i)); marker.setAttribute("cy", y(p.value)); marker.setAttribute("visibility", "visible");
      let text = p.label + ": " + formatMetric(metric, p.value);
      if (previous && previous[i]) text += " (before: " + formatMetric(metric, previous[i].value) + ")";
      tip.textContent = text; tip.hidden = false;
    });
    chart.addEventListener("mouseleave", () => { tip.hidden = true; marker.setAttribute("visibility", "hidden"); });
    box.setAttribute("aria-label", goalLabel(metric) + " over time: " + points.map((p) => p.label + " " + p.value).join(", "));
    box.replaceChildren(chart, tip);
  }

  // The graph's top: a round number whose half is a round number too (whole for counts), so
  // the three grid lines never repeat a label.
  function axisTop(max, metric) {
    const whole = !["views_per_visit", "bounce_rate", "conversion_rate"].includes(metric);
    if (!(max > 0)) return whole ? 2 : 1;
    const magnitude = Math.pow(10, Math.floor(Math.log10(max / 2)));
    for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
      const half = m * magnitude;
      if (half * 2 >= max && (!whole || Number.isInteger(half))) return half * 2;
    }
    return Math.ceil(max / 2) * 2;
  }

  // "Mar 10" or "14:00"; months as "Mar"; with the year when the range spans years.
  function shortLabel(label, monthly, years) {
    const m = /^(\d{4})-(\d\d)-(\d\d)(?: (\d\d):\d\d)?/.exec(String(label));
    if (!m) return String(label);
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    if (m[4] !== undefined) return m[4] + ":00";
    return months[+m[2] - 1] + (monthly ? "" : " " + +m[3]) + (years ? " " + m[1] : "");
  }

  // -- panels ---------------------------------------------------------------------------------

  const utm = ["visit:utm_medium", "visit:utm_source", "visit:utm_campaign", "visit:utm_content", "visit:utm_term"];
  const PANELS = [
    { id: "sources", title: "Top sources", tabs: [
      { name: "Channels", dims: ["visit:channel"] },
      { name: "Sources", dims: ["visit:source"] },
      { name: "UTM", choices: utm },
    ] },
    { id: "pages", title: "Top pages", tabs: [
      { name: "Top pages", dims: ["event:page"] },
      { name: "Entry pages", dims: ["visit:entry_page"] },
      { name: "Exit pages", dims: ["visit:exit_page"] },
    ] },
    { id: "locations", title: "Locations", tabs: [
      { name: "Countries", dims: ["visit:country_name", "visit:country"] },
      { name: "Regions", dims: ["visit:region_name", "visit:region"] },
      { name: "Cities", dims: ["visit:city_name", "visit:city"] },
    ] },
    { id: "devices", title: "Devices", tabs: [
      { name: "Browsers", dims: ["visit:browser"] },
      { name: "OS", dims: ["visit:os"] },
      { name: "Size", dims: ["visit:device"] },
    ] },
    { id: "goals", title: "Goals", tabs: [
      { name: "Goals", dims: ["event:goal"], metrics: ["visitors", "events", "conversion_rate"], headers: ["Uniques", "Total", "CR"] },
    ] },
    { id: "props", title: "Custom properties", tabs: [{ name: "Properties", prop: true }] },
    { id: "funnels", title: "Funnels", tabs: [{ name: "Funnels", funnel: true }] },
  ];

  function tabOf(panel) {
    const index = state.tabs[panel.id] || 0;
    return panel.tabs[Math.min(index, panel.tabs.length - 1)];
  }

  // The dimensions a tab queries, its filter dimension, and metrics.
  function tabQuery(panel, tab) {
    if (tab.choices) {
      const dim = state.tabs[panel.id + ":choice"] || tab.choices[0];
      return { dims: [dim], filterDim: dim, metrics: ["visitors"], headers: ["Visitors"] };
    }
    if (tab.prop) {
      const key = state.tabs.prop || cfg.props[0];
      if (!key) return null;
      return { dims: ["event:props:" + key], filterDim: "event:props:" + key, metrics: ["visitors", "events", "percentage"], headers: ["Visitors", "Events", "%"] };
    }
    const dims = tab.dims;
    return { dims, filterDim: dims[dims.length - 1], metrics: tab.metrics || ["visitors"], headers: tab.headers || ["Visitors"] };
  }

  function buildPanels() {
    const box = $("panels");
    box.replaceChildren();
    for (const panel of PANELS) {
      if (panel.id === "funnels" && !cfg.funnels.length) continue;
      const section = el("section", { class: "card panel", id: "panel-" + panel.id, "aria-labelledby": "title-" + panel.id });
      const head = el("div", { class: "panel-head" }, el("h2", { id: "title-" + panel.id, text: panel.title }));
      const tabs = el("div", { class: "tabs", role: "tablist", onkeydown: (event) => tabKeys(event, panel) });
      panel.tabs.forEach((tab, i) => {
        if (panel.tabs.length > 1) {
          tabs.append(el("button", {
            type: "button", role: "tab", "data-tab": tab.name, "aria-selected": String(tabOf(panel) === tab),
            text: tab.name, onclick: () => { state.tabs[panel.id] = i; buildPanels(); loadPanels(); },
          }));
        }
      });
      const tab = tabOf(panel);
      if (tab.choices) tabs.append(choiceSelect(panel.id + ":choice", tab.choices.map((d) => [d, LABELS[d]]), panel));
      if (tab.prop && cfg.props.length) tabs.append(choiceSelect("prop", cfg.props.map((p) => [p, p]), panel));
      if (tab.funnel) tabs.append(choiceSelect("funnel", cfg.funnels.map((f) => [String(f.id), f.name]), panel));
      head.append(tabs);
      head.append(el("button", { type: "button", class: "link small", text: "CSV", "aria-label": "Download " + panel.title + " as CSV", onclick: () => panelCsv(panel) }));
      section.append(head, el("div", { class: "rows", "aria-live": "polite" }, el("p", { class: "muted", text: "Loading…" })));
      box.append(section);
    }
  }

  // Arrow keys move between a panel's tabs, as in any tab list.
  function tabKeys(event, panel) {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step || event.target.getAttribute("role") !== "tab") return;
    const count = panel.tabs.length;
    state.tabs[panel.id] = ((state.tabs[panel.id] || 0) + step + count) % count;
    buildPanels();
    loadPanels();
    const active = document.querySelector(`#panel-${panel.id} [role=tab][aria-selected=true]`);
    if (active) active.focus();
  }

  function choiceSelect(key, options, panel) {
    const select = el("select", { "aria-label": "Choose", onchange: () => { state.tabs[key] = select.value; loadPanel(panel); } });
    for (const [value, label] of options) select.append(el("option", { value, text: label }));
    if (state.tabs[key]) select.value = state.tabs[key];
    return select;
  }

  async function loadPanel(panel, limit) {
    const rowsBox = document.querySelector("#panel-" + panel.id + " .rows");
    const tab = tabOf(panel);
    try {
      if (tab.funnel) return renderFunnel(rowsBox, await loadFunnel());
      const spec = tabQuery(panel, tab);
      if (!spec) {
        rowsBox.replaceChildren(el("p", { class: "muted", text: "No custom properties yet: add them in the site's settings." }));
        return;
      }
      if (panel.id === "goals" && !cfg.goals.length) {
        rowsBox.replaceChildren(el("p", { class: "muted", text: "No goals yet: add them in the site's settings." }));
        return;
      }
      const answer = await query({
        metrics: spec.metrics, dimensions: spec.dims, date_range: panelRange(),
        pagination: { limit: (limit || ROWS_SHOWN) + 1 },
      });
      renderRows(rowsBox, panel, spec, answer, limit || ROWS_SHOWN);
    } catch (error) {
      rowsBox.replaceChildren(el("p", { class: "error", text: String(error.message || error) }));
    }
  }

  function renderRows(box, panel, spec, answer, limit) {
    const rows = answer.results.slice(0, limit);
    if (!rows.length) { box.replaceChildren(el("p", { class: "muted", text: "No data for this period." })); return; }
    const top = Math.max(1, ...rows.map((r) => Number(r.metrics[0]) || 0));
    const head = el("div", { class: "row head" }, el("span", { text: LABELS[spec.filterDim] || spec.filterDim.replace("event:props:", "") }),
      el("span", { class: "values" }, ...spec.headers.map((text) => el("span", { text }))));
    const list = el("ul", { class: "list" });
    for (const r of rows) {
      const label = String(r.dimensions[0] ?? "(none)");
      const value = String(r.dimensions[r.dimensions.length - 1] ?? "");
      const filter = ["is", spec.filterDim, value];
      // Location rows filter by code (US, US-CA, a city id); the chip shows the row's name.
      const labels = value && label !== value ? Object.assign({}, state.labels, { [value]: label }) : state.labels;
      const bar = el("span", { class: "bar" });
      bar.style.width = (100 * (Number(r.metrics[0]) || 0)) / top + "%";
      const link = el("a", {
        href: urlFor(Object.assign({}, state, { filters: withFilter(filter), labels })), class: "row-link",
        title: "Filter by " + label, onclick: (event) => { event.preventDefault(); go({ filters: withFilter(filter), labels }); },
      }, bar, el("span", { class: "label", text: label }));
      list.append(el("li", { class: "row", "data-label": label }, link,
        el("span", { class: "values" }, ...r.metrics.map((m, i) => el("span", { text: formatMetric(spec.metrics[i], m), "data-value": String(m) })))));
    }
    box.replaceChildren(head, list);
    if (answer.results.length > limit && limit < 100) {
      box.append(el("button", { type: "button", class: "link small more", text: "Show more", onclick: () => loadPanel(panel, 100) }));
    }
  }

  function withFilter(filter) {
    const others = state.filters.filter((f) => f[1] !== filter[1]);
    return others.concat([filter]);
  }

  async function loadFunnel() {
    const id = state.tabs.funnel || String(cfg.funnels[0].id);
    const auth = cfg.auth ? "?auth=" + encodeURIComponent(cfg.auth) : "";
    const url = "/dashboard/api/" + encodeURIComponent(cfg.domain) + "/funnel" + auth;
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ funnel_id: Number(id), query: { date_range: panelRange(), filters: v2Filters() } }),
    });
    const answer = await response.json().catch(() => ({ error: "HTTP " + response.status }));
    if (!response.ok) throw new Error(answer.error);
    return answer;
  }

  function renderFunnel(box, answer) {
    const list = el("ol", { class: "funnel" });
    const top = Math.max(1, ...answer.steps.map((s) => s.visitors));
    for (const step of answer.steps) {
      const bar = el("span", { class: "bar" });
      bar.style.width = (100 * step.visitors) / top + "%";
      list.append(el("li", { class: "row", "data-label": step.name },
        el("span", { class: "row-link" }, bar, el("span", { class: "label", text: step.name })),
        el("span", { class: "values" },
          el("span", { text: formatNumber(step.visitors), "data-value": String(step.visitors) }),
          el("span", { text: step.conversion_rate + "%" }))));
    }
    box.replaceChildren(list, el("p", { class: "muted small", text: "Conversion rate " + answer.conversion_rate + "% of visitors who entered the funnel." }));
  }

  function loadPanels() { return Promise.all(PANELS.filter((p) => document.getElementById("panel-" + p.id)).map((p) => loadPanel(p))); }

  // -- filters as chips -------------------------------------------------------------------------

  function renderChips() {
    const list = $("filters");
    list.replaceChildren();
    state.filters.forEach((f, i) => {
      const dim = f[1].startsWith("event:props:") ? f[1].slice(12) : LABELS[f[1]] || f[1];
      const text = dim + " " + f[0].replace("_", " ") + " " + (state.labels[f[2]] || f[2]);
      list.append(el("li", { class: "chip" }, el("span", { text }),
        el("button", { type: "button", "aria-label": "Remove filter " + text, text: "×",
          onclick: () => go({ filters: state.filters.filter((_, j) => j !== i) }) })));
    });
    if (state.filters.length > 1) {
      list.append(el("li", {}, el("button", { type: "button", class: "link small", text: "Clear all", onclick: () => go({ filters: [] }) })));
    }
  }

  // -- CSV ----------------------------------------------------------------------------------------

  function csvCell(value) {
    const text = value === null || value === undefined ? "" : typeof value === "object" ? String(value.value) : String(value);
    return /[",\n\r]/.test(text) || /^[=+\-@]/.test(text) ? '"' + (/^[=+\-@]/.test(text) ? "'" : "") + text.replace(/"/g, '""') + '"' : text;
  }

  function download(name, header, rows) {
    const text = [header].concat(rows).map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: name });
    document.body.append(link); link.click(); link.remove();
  }

  async function panelCsv(panel) {
    try {
      const tab = tabOf(panel);
      if (tab.funnel) {
        const f = await loadFunnel();
        return download("funnel.csv", ["step", "visitors", "conversion_rate"], f.steps.map((s) => [s.name, s.visitors, s.conversion_rate]));
      }
      const spec = tabQuery(panel, tab);
      if (!spec) return;
      const answer = await query({ metrics: spec.metrics, dimensions: spec.dims, date_range: panelRange(), pagination: { limit: 10000 } });
      const name = spec.filterDim.replace(/[^a-z_]+/gi, "_") + ".csv";
      download(name, [spec.filterDim.split(":").pop()].concat(spec.metrics), answer.results.map((r) => [r.dimensions[0]].concat(r.metrics)));
    } catch (error) { showError(error); }
  }

  async function exportAll() {
    try {
      const metrics = topMetrics();
      const interval = realtime() ? "hour" : graphInterval();
      const answer = await timeSeries(metrics, interval, null);
      download(cfg.domain + "-" + interval + ".csv", [interval].concat(metrics), answer.now.map((p) => [p.label].concat(p.values)));
    } catch (error) { showError(error); }
  }

  // -- realtime -------------------------------------------------------------------------------------

  async function loadCurrentVisitors() {
    try {
      const answer = await query({ metrics: ["visitors"], date_range: "realtime", filters: [] });
      const count = String(answer.results[0] ? answer.results[0].metrics[0] : 0);
      $("current-visitors").textContent = count;
      const big = $("realtime-count");
      if (big) { big.textContent = count; big.setAttribute("data-value", count); }
    } catch (error) { /* the badge is a nicety; panels report errors */ }
  }

  let timer = null;
  function schedule() {
    clearInterval(timer);
    timer = setInterval(() => {
      if (document.hidden) return;
      if (realtime()) { loadCurrentVisitors(); loadTopStats().catch(showError); loadPanels(); }
      else loadCurrentVisitors();
    }, realtime() ? REFRESH_REALTIME_MS : 30000);
  }

  // -- wiring --------------------------------------------------------------------------------------

  function syncControls() {
    $("period").value = state.period;
    $("custom-range").hidden = state.period !== "custom";
    $("from").value = state.from; $("to").value = state.to;
    $("compare").value = comparable() ? state.compare : "";
    $("compare").disabled = !comparable();
  }

  async function load() {
    showError(null);
    syncControls();
    renderChips();
    document.body.classList.toggle("is-realtime", realtime());
    schedule();
    buildPanels();
    await Promise.all([loadCurrentVisitors(), loadTopStats()]).catch(showError);
    // User Timing marks: the benchmark (bench/dashboard.py) reads them from the browser.
    if (!performance.getEntriesByName("tt:first-numbers").length) performance.mark("tt:first-numbers");
    await Promise.all([loadGraph().catch(showError), loadPanels()]);
    if (!performance.getEntriesByName("tt:loaded").length) performance.mark("tt:loaded");
    document.body.setAttribute("data-loaded", "true");
  }

  $("period").addEventListener("change", (event) => {
    const period = event.target.value;
    if (period === "custom") { $("custom-range").hidden = false; $("from").focus(); return; }
    go({ period, interval: "" });
  });
  $("apply-range").addEventListener("click", () => {
    const from = $("from").value, to = $("to").value;
    if (!from || !to || from > to) { showError(new Error("Choose a start date on or before the end date.")); return; }
    go({ period: "custom", from, to, interval: "" });
  });
  $("compare").addEventListener("change", (event) => go({ compare: event.target.value }));
  $("interval").addEventListener("change", (event) => go({ interval: event.target.value }));
  $("realtime-badge").addEventListener("click", () => go({ period: "realtime" }));
  $("export").addEventListener("click", exportAll);
  let resized = null;
  window.addEventListener("resize", () => { clearTimeout(resized); resized = setTimeout(() => loadGraph().catch(showError), 200); });

  load();
})();
