// The year-end sheet page: asks for a key, an area and a period, fetches the registry's sheet and
// draws it. No framework and no build step: what is served is what runs. The key lives in
// sessionStorage for this tab only and travels in the Authorization header, never in a URL.
"use strict";

(function () {
  const KEY_STORE = "jinguo.sheet.key";
  const SVG = "http://www.w3.org/2000/svg";
  const UNITS = {
    people: "人", items: "项", events: "次", percent: "%", yuan: "元", hours: "小时", households: "户",
  };
  const LEVELS = {
    province: "省", city: "市", district: "区县", county: "县", street: "街道",
    township: "乡镇", community: "社区", village: "村",
  };
  // "<5" is a count of 1 to 4: above zero, below five
  const SMALL = 2.5;

  const $ = (id) => document.getElementById(id);
  const form = $("query");
  const state = { sheet: null, area: null, period: null, sort: null, request: 0 };

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function figure(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string") return value;
    return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  }

  function compact(value) {
    return value.toLocaleString("en-US", { notation: "compact", maximumFractionDigits: 1 });
  }

  function signed(value) {
    if (typeof value !== "number") return figure(value);
    return (value > 0 ? "+" : "") + figure(value);
  }

  function sortable(value) {
    if (typeof value === "number") return value;
    if (value === "<5") return SMALL;
    return null;
  }

  // ---- the query: period selector, key, the address bar's #area/period ----

  function fillMonths() {
    const group = $("months");
    for (let m = 1; m <= 12; m++) {
      const mm = String(m).padStart(2, "0");
      group.appendChild(element("option", { value: "-" + mm }, `${m}月 ${mm}`));
    }
  }

  function period() {
    return $("year").value + $("span").value;
  }

  function fromHash() {
    const match = /^#(\d{2,12})\/(\d{4})(H[12]|Q[1-4]|-\d{2})?$/.exec(location.hash);
    if (!match) return false;
    $("area").value = match[1];
    $("year").value = match[2];
    $("span").value = match[3] || "";
    return true;
  }

  function dataUrl(area, when, extension) {
    const path = `../sheets/${encodeURIComponent(area)}/${encodeURIComponent(when)}`;
    return new URL(path + (extension ? "." + extension : ""), location.href);
  }

  async function call(url, accept) {
    const key = sessionStorage.getItem(KEY_STORE) || "";
    let response;
    try {
      response = await fetch(url, {
        headers: { Authorization: "Bearer " + key, Accept: accept },
        cache: "no-store",
      });
    } catch (error) {
      throw { title: "无法连接 Cannot reach the server", detail: String(error.message || error) };
    }
    if (!response.ok) throw await problemOf(response);
    return response;
  }

  async function problemOf(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (ignored) {
      body = null;
    }
    const problem = {
      title: (body && body.title) || `HTTP ${response.status}`,
      detail: (body && body.detail) || response.statusText || "",
    };
    if (body && Array.isArray(body.errors) && body.errors.length) {
      problem.detail += " " + body.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    }
    if (response.status === 401) problem.title += " — 请检查 API 密钥 (check the key)";
    return problem;
  }

  function showProblem(problem) {
    $("problem-title").textContent = problem.title;
    $("problem-detail").textContent = problem.detail || "";
    $("problem").hidden = false;
  }

  async function load() {
    const area = $("area").value.trim();
    const when = period();
    const request = ++state.request;
    $("problem").hidden = true;
    $("loading").hidden = false;
    $("show").disabled = true;
    try {
      const response = await call(dataUrl(area, when), "application/json");
      const sheet = await response.json();
      if (request !== state.request) return;
      Object.assign(state, { sheet, area, period: when, sort: null });
      history.replaceState(null, "", `#${area}/${when}`);
      render(sheet);
    } catch (problem) {
      if (request !== state.request) return;
      $("sheet").hidden = true;
      showProblem(problem);
    } finally {
      if (request === state.request) {
        $("loading").hidden = true;
        $("show").disabled = false;
      }
    }
  }

  // ---- drawing the sheet ----

  function render(sheet) {
    const main = $("sheet");
    const area = sheet.area;
    $("title").textContent = `${area.name} (${area.code}) · ${sheet.period}`;
    $("span-dates").textContent = `${sheet.starts_on} – ${sheet.ends_on} · ${
      LEVELS[area.level] || ""} ${area.level}`;
    $("report").textContent = reportLine(sheet.report);
    renderIndicators(sheet);
    renderTrends(sheet);
    renderChildren(sheet);
    main.hidden = false;
    main.dataset.loaded = `${area.code}/${sheet.period}`;
  }

  function reportLine(report) {
    if (!report) return "尚未上报：以下为当前数据 · No report submitted: the figures as known now.";
    const states = {
      submitted: "已上报 submitted", accepted: "已通过 accepted",
      returned: "已退回 returned", revised: "已修订 revised",
    };
    const decision = report.state || report.decision || "submitted";
    let line = `上报 Report: ${states[decision] || decision} ${report.submitted_on}`;
    if (report.decided_on) line += ` · 审核 decided ${report.decided_on}`;
    if (report.as_reported_on) line += ` · 上报数截至 as reported on ${report.as_reported_on}`;
    if (report.revision) line += ` · 第${report.revision}次修订 revision ${report.revision}`;
    if (report.reason) line += ` · 理由 reason: ${report.reason}`;
    return line + " · 上报数 = as reported, 数值 = as known now";
  }

  function renderIndicators(sheet) {
    const reported = Boolean(sheet.report);
    for (const th of document.querySelectorAll("#indicators th.reported")) th.hidden = !reported;
    const body = document.querySelector("#indicators tbody");
    body.replaceChildren();
    for (const indicator of sheet.indicators) {
      const row = element("tr", { "data-code": indicator.code });
      const name = element("td", { class: "name" }, indicator.name);
      name.appendChild(element("span", { class: "code" },
        `${indicator.code} · ${UNITS[indicator.unit] || indicator.unit}`));
      row.appendChild(name);
      row.appendChild(element("td", { class: "num value" }, figure(indicator.value)));
      row.appendChild(element("td", { class: "num target" }, figure(indicator.target)));
      const progress = element("td", { class: "bar-cell progress" });
      progress.appendChild(bar(indicator.progress, sheet.expected_progress));
      row.appendChild(progress);
      const asReported = element("td", { class: "num as-reported" }, figure(indicator.as_reported));
      const difference = element("td", { class: "num difference" }, signed(indicator.difference));
      if (typeof indicator.difference === "number" && indicator.difference !== 0) {
        difference.classList.add(indicator.difference > 0 ? "diff-up" : "diff-down");
      }
      asReported.hidden = difference.hidden = !reported;
      row.append(asReported, difference);
      body.appendChild(row);
    }
  }

  // progress as a bar of the target; a tick where the time gone by says it should be
  function bar(progress, expected) {
    const width = 200, height = 16, track = 150;
    const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
    chart.appendChild(svg("rect", { class: "bar-bg", x: 0.5, y: 2.5, width: track, height: 11, rx: 2 }));
    if (typeof progress !== "number") {
      chart.setAttribute("aria-label", "no target");
      chart.appendChild(svg("text", { class: "bar-text", x: track + 6, y: 12 }, "—"));
      return chart;
    }
    const filled = Math.max(0, Math.min(progress, 100)) / 100 * track;
    chart.appendChild(svg("rect", {
      class: progress >= 100 ? "bar-fill done" : "bar-fill",
      x: 0.5, y: 2.5, width: filled.toFixed(1), height: 11, rx: 2,
    }));
    const label = figure(progress) + "%";
    chart.setAttribute("aria-label", label);
    chart.appendChild(svg("text", { class: "bar-text", x: track + 6, y: 12 }, label));
    if (typeof expected === "number" && expected < 100) {
      const at = (0.5 + Math.max(0, expected) / 100 * track).toFixed(1);
      const tick = svg("line", { class: "bar-expected", x1: at, x2: at, y1: 0.5, y2: 15.5 });
      tick.appendChild(svg("title", {}, `应完成 expected by now: ${figure(expected)}%`));
      chart.appendChild(tick);
    }
    return chart;
  }

  function renderTrends(sheet) {
    const box = $("trends");
    box.replaceChildren();
    for (const indicator of sheet.indicators) {
      const item = element("figure", { "data-code": indicator.code });
      item.appendChild(element("figcaption", {}, indicator.name));
      item.appendChild(line(sheet.months, indicator.trend || []));
      box.appendChild(item);
    }
  }

  function line(months, trend) {
    const width = 260, height = 96, left = 34, right = 8, top = 8, bottom = 18;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img" });
    const values = trend.map(sortable);
    const numbers = values.filter((v) => v !== null);
    const most = Math.max(1, ...numbers, trend.includes("<5") ? 5 : 0);
    const x = (n) => left + (months.length > 1 ? n / (months.length - 1) : 0.5) * (width - left - right);
    const y = (v) => top + (1 - v / most) * (height - top - bottom);
    chart.appendChild(svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }));
    chart.appendChild(svg("text", { class: "axis-text", x: left - 4, y: top + 4, "text-anchor": "end" }, compact(most)));
    chart.appendChild(svg("text", { class: "axis-text", x: left - 4, y: y(0) + 3, "text-anchor": "end" }, "0"));
    months.forEach((month, n) => {
      if (months.length <= 12 || n % 3 === 0) {
        chart.appendChild(svg("text", {
          class: "axis-text", x: x(n), y: height - 4, "text-anchor": "middle",
        }, String(Number(month.slice(5)))));
      }
    });
    let path = "";
    let pen = false;
    values.forEach((v, n) => {
      if (v === null) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${x(n).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    if (path) chart.appendChild(svg("path", { class: "trend-line", d: path }));
    values.forEach((v, n) => {
      if (v === null) return;
      const point = svg("circle", {
        class: trend[n] === "<5" ? "trend-point small" : "trend-point", cx: x(n), cy: y(v), r: 2.6,
      });
      point.appendChild(svg("title", {}, `${months[n]}: ${figure(trend[n])}`));
      chart.appendChild(point);
    });
    chart.setAttribute("aria-label", months.map((m, n) => `${m} ${figure(trend[n])}`).join(", "));
    return chart;
  }

  // ---- the child areas: a table sorted by a click on its header ----

  function columns(sheet) {
    return [
      { key: "code", label: "代码 code", text: true, get: (c) => c.code },
      { key: "name", label: "名称 name", text: true, get: (c) => c.name },
      ...sheet.indicators.map((i) => ({
        key: i.code, label: i.name, indicator: true, get: (c) => (c.values || {})[i.code],
      })),
      { key: "lagging", label: "落后 lagging", get: (c) => (isLagging(c) ? 1 : 0) },
    ];
  }

  function isLagging(child) {
    return Boolean(child.lagging) || (state.sheet.lagging || []).includes(child.code);
  }

  function renderChildren(sheet) {
    const cols = columns(sheet);
    const head = document.querySelector("#children thead tr");
    head.replaceChildren();
    for (const column of cols) {
      const th = element("th", {
        class: column.text ? "sortable" : "sortable num", "data-key": column.key, tabindex: 0,
        "aria-sort": "none", scope: "col",
      }, column.label);
      th.addEventListener("click", () => sortBy(column.key));
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(column.key);
        }
      });
      head.appendChild(th);
    }
    $("no-children").hidden = sheet.children.length > 0;
    $("children").hidden = sheet.children.length === 0;
    drawRows(sheet.children, cols);
  }

  function drawRows(children, cols) {
    const body = document.querySelector("#children tbody");
    body.replaceChildren();
    for (const child of children) {
      const lagging = isLagging(child);
      const row = element("tr", { "data-code": child.code, class: lagging ? "lagging" : "" });
      for (const column of cols) {
        if (column.key === "lagging") {
          const cell = element("td", { class: "flag" });
          if (lagging) cell.appendChild(element("span", { class: "tag" }, "落后 lagging"));
          row.appendChild(cell);
        } else if (column.indicator) {
          const cell = element("td", { class: "num", "data-indicator": column.key }, figure(column.get(child)));
          const progress = (child.progress || {})[column.key];
          if (typeof progress === "number") cell.title = `${figure(progress)}% of target`;
          row.appendChild(cell);
        } else {
          row.appendChild(element("td", { class: column.key }, column.get(child)));
        }
      }
      body.appendChild(row);
    }
  }

  function sortBy(key) {
    const sheet = state.sheet;
    const ascending = !(state.sort && state.sort.key === key && state.sort.ascending);
    state.sort = { key, ascending };
    const cols = columns(sheet);
    const column = cols.find((c) => c.key === key);
    const sign = ascending ? 1 : -1;
    const rows = [...sheet.children].sort((a, b) => {
      let order;
      if (column.text) {
        order = String(column.get(a)).localeCompare(String(column.get(b)), "zh-CN") * sign;
      } else {
        const left = sortable(column.get(a));
        const right = sortable(column.get(b));
        // an unknown figure goes last whichever way the column is sorted
        if (left === null || right === null) order = (left === null) - (right === null);
        else order = (left - right) * sign;
      }
      return order || a.code.localeCompare(b.code);
    });
    for (const th of document.querySelectorAll("#children th")) {
      th.setAttribute("aria-sort", th.dataset.key === key ? (ascending ? "ascending" : "descending") : "none");
    }
    drawRows(rows, cols);
  }

  // ---- export: the same request with the key, then a link to the blob ----

  async function download(extension) {
    if (!state.sheet) return;
    const button = $("export-" + extension);
    button.disabled = true;
    $("problem").hidden = true;
    try {
      const response = await call(dataUrl(state.area, state.period, extension), "*/*");
      const blob = await response.blob();
      const disposition = response.headers.get("Content-Disposition") || "";
      const named = /filename="?([^";]+)"?/.exec(disposition);
      const link = element("a", {
        href: URL.createObjectURL(blob),
        download: named ? named[1] : `sheet-${state.area}-${state.period}.${extension}`,
      });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    } catch (problem) {
      showProblem(problem);
    } finally {
      button.disabled = false;
    }
  }

  // ---- wiring ----

  fillMonths();
  $("year").value = String(new Date().getFullYear());
  $("key").value = sessionStorage.getItem(KEY_STORE) || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORE, $("key").value.trim());
    load();
  });
  $("export-xlsx").addEventListener("click", () => download("xlsx"));
  $("export-csv").addEventListener("click", () => download("csv"));
  if (fromHash() && $("key").value) load();
})();
