/* Data pages: filter rows, the preview's htmx swaps, and the chart builder (Apache ECharts,
   fetched the first time a chart is drawn). Every text shown comes from the page (data-labels)
   or from the server, in the reader's language. */
(function () {
  "use strict";

  var PALETTE = ["#1d4f91", "#c0392b", "#2b8a3e", "#d48806", "#6f42c1", "#0f8b8d", "#8a5300",
    "#c2255c", "#5f6b7a", "#4c6ef5"];
  var OTHERS_COLOR = "#b8c2cc";
  var echartsLoading = null;

  /* Only the operators that fit the chosen column's kind can be picked. */
  function fitOperators(row) {
    var column = row.querySelector(".filter-column");
    var op = row.querySelector(".filter-op");
    if (!column || !op || !column.selectedOptions.length) { return; }
    var allowed = (column.selectedOptions[0].getAttribute("data-ops") || "").split(" ");
    Array.prototype.forEach.call(op.options, function (option) {
      option.disabled = allowed.indexOf(option.value) < 0;
    });
    if (op.selectedOptions.length && op.selectedOptions[0].disabled) { op.value = "eq"; }
  }

  function initFilters(root) {
    root.querySelectorAll(".filter-row").forEach(function (row) {
      if (row.hasAttribute("data-ready")) { return; }
      row.setAttribute("data-ready", "");
      fitOperators(row);
      row.querySelector(".filter-column").addEventListener("change", function () { fitOperators(row); });
    });
    root.querySelectorAll("[data-autosubmit]").forEach(function (select) {
      if (select.hasAttribute("data-ready")) { return; }
      select.setAttribute("data-ready", "");
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  }

  /* A wrong filter (400) or a refusal comes back as a partial to show, not as a failure. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var status = event.detail.xhr.status;
    if (target && target.closest && target.closest("[data-kf-preview]") && status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:load", function (event) { initFilters(event.target); });

  function loadECharts(src) {
    if (window.echarts) { return Promise.resolve(window.echarts); }
    if (!echartsLoading) {
      echartsLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(window.echarts); };
        script.onerror = function () { echartsLoading = null; reject(new Error("echarts")); };
        document.head.appendChild(script);
      });
    }
    return echartsLoading;
  }

  function formatNumber(value) {
    if (value === null || value === undefined) { return ""; }
    return new Intl.NumberFormat(document.documentElement.lang || undefined,
      { maximumFractionDigits: 2 }).format(value);
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error[data-from-chart]").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
  }

  function markError(form, control, message, where) {
    if (!control) { return false; }
    var note = document.createElement("small");
    note.className = "field-error";
    note.id = control.id + "-error";
    note.textContent = message;
    note.setAttribute("data-from-chart", "");
    note.setAttribute("data-testid", "chart-field-error");
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", note.id);
    (where || control.parentNode).appendChild(note);
    return true;
  }

  function showError(form, note, error, labels) {
    var fields = error.fields || {};
    var placed = false;
    if (error.filter !== null && error.filter !== undefined) {
      var row = form.querySelectorAll(".filter-row")[error.filter];
      var message = (fields[Object.keys(fields)[0]] || [error.message])[0];
      if (row) { placed = markError(form, row.querySelector(".filter-value"), message, row); }
    }
    ["group_by", "measure"].forEach(function (name) {
      if (fields[name]) { placed = markError(form, form.elements[name], fields[name][0]) || placed; }
    });
    note.textContent = placed ? labels.fix : error.message;
    note.classList.add("error");
    note.hidden = false;
  }

  function addFilterRow(form, button) {
    var rows = form.querySelectorAll(".filter-row");
    var copy = rows[rows.length - 1].cloneNode(true);
    var index = rows.length;
    copy.removeAttribute("data-ready");
    copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    copy.querySelectorAll("[id]").forEach(function (el) {
      el.id = el.id.replace(/-filter-\d+-/, "-filter-" + index + "-");
      el.removeAttribute("aria-invalid");
    });
    copy.querySelector(".filter-value").value = "";
    button.parentNode.insertBefore(copy, button);
    initFilters(form);
  }

  function axisOptions(body, type, narrow) {
    var rows = body.rows;
    var slanted = rows.length > (narrow ? 5 : 10);
    return {
      grid: { left: slanted ? 36 : 8, right: 16, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: formatNumber },
      xAxis: { type: "category", data: rows.map(function (r) { return r.name; }),
        axisLabel: { rotate: slanted ? 40 : 0, hideOverlap: true, width: 110, overflow: "truncate" } },
      yAxis: { type: "value", name: body.measure_title, nameTextStyle: { align: "left" },
        axisLabel: { formatter: formatNumber } },
      series: [{ type: type, name: body.measure_title, data: rows.map(function (r) { return r.value; }),
        itemStyle: { color: PALETTE[0] }, lineStyle: { width: 2 }, symbolSize: 6, barMaxWidth: 48 }]
    };
  }

  function pieOptions(body, narrow) {
    var data = body.rows.map(function (r) { return { name: r.name, value: r.value }; });
    if (body.others) { data.push({ name: body.others_label, value: body.others, itemStyle: { color: OTHERS_COLOR } }); }
    return {
      tooltip: { trigger: "item", valueFormatter: formatNumber },
      // A few names wrap under a phone's chart; many scroll.
      legend: narrow ? { type: data.length > 8 ? "scroll" : "plain", bottom: 0 }
        : { type: "scroll", orient: "vertical", right: 8, top: 16, bottom: 16 },
      series: [{ type: "pie", name: body.measure_title, data: data, radius: narrow ? ["25%", "55%"] : ["30%", "68%"],
        center: narrow ? ["50%", "42%"] : ["40%", "52%"], minShowLabelAngle: 8,
        // On a phone the names are in the legend; the slices keep their shares.
        label: narrow ? { position: "inside", formatter: "{d}%", color: "#fff" } : { formatter: "{b}\n{d}%" },
        labelLine: { show: !narrow }, itemStyle: { borderColor: "#fff", borderWidth: 1 } }]
    };
  }

  function fillTable(root, body) {
    var table = root.querySelector("[data-testid=chart-table]");
    var heads = table.querySelectorAll("thead th");
    heads[0].textContent = body.group_title;
    heads[1].textContent = body.measure_title;
    var tbody = table.querySelector("tbody");
    tbody.textContent = "";
    var all = body.rows.slice();
    if (body.others) { all.push({ name: body.others_label, value: body.others }); }
    all.forEach(function (r) {
      var tr = document.createElement("tr");
      var name = document.createElement("td");
      var value = document.createElement("td");
      name.textContent = r.name;
      value.textContent = formatNumber(r.value);
      value.className = "num";
      tr.appendChild(name);
      tr.appendChild(value);
      tbody.appendChild(tr);
    });
    root.querySelector(".chart-numbers").hidden = false;
  }

  function render(root, echarts, body, type) {
    var figure = root.querySelector(".chart-figure");
    var canvas = root.querySelector(".chart-canvas");
    figure.hidden = false;
    root.querySelector("[data-testid=chart-title]").textContent = body.title;
    canvas.setAttribute("aria-label", body.title);
    canvas.setAttribute("data-state", "drawing");
    canvas.setAttribute("data-type", type);
    var chart = echarts.getInstanceByDom(canvas) || echarts.init(canvas, null, { renderer: "canvas" });
    var narrow = canvas.clientWidth < 560;
    var options = type === "pie" ? pieOptions(body, narrow) : axisOptions(body, type, narrow);
    options.color = PALETTE;
    options.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
    options.animationDuration = 300;
    chart.off("finished");
    chart.on("finished", function () { canvas.setAttribute("data-state", "drawn"); });
    chart.setOption(options, true);
    fillTable(root, body);
    if (!root.hasAttribute("data-resizing")) {
      root.setAttribute("data-resizing", "");
      window.addEventListener("resize", function () { chart.resize(); });
    }
  }

  function initChart(root) {
    var form = root.querySelector("form");
    var note = root.querySelector(".chart-note");
    var labels = JSON.parse(root.getAttribute("data-labels") || "{}");
    var add = form.querySelector("[data-add-filter]");
    add.hidden = false;
    add.addEventListener("click", function () { addFilterRow(form, add); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      var data = new FormData(form);
      var type = data.get("type") || "bar";
      note.classList.remove("error");
      note.textContent = labels.loading;
      note.hidden = false;
      var url = root.getAttribute("data-endpoint") + "?" + new URLSearchParams(data).toString();
      var request = fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        });
      Promise.all([request, loadECharts(root.getAttribute("data-echarts"))]).then(function (done) {
        var answer = done[0];
        if (!answer.ok) { showError(form, note, answer.body.error || {}, labels); return; }
        var body = answer.body;
        note.textContent = body.note || "";
        note.hidden = !body.note;
        if (!body.rows.length) {
          note.textContent = body.note || labels.empty;
          note.hidden = false;
          root.querySelector(".chart-figure").hidden = true;
          root.querySelector(".chart-numbers").hidden = true;
          return;
        }
        render(root, done[1], body, type);
      }).catch(function () {
        note.textContent = labels.failed;
        note.classList.add("error");
        note.hidden = false;
      });
    });
  }

  function start() {
    initFilters(document);
    document.querySelectorAll("[data-kf-chart]").forEach(initChart);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
