/* CETS charts: every element with data-echart="<kind>" and data-echart-source="<id of a json_script>" becomes an
   Apache ECharts chart (static/vendor/echarts). Data comes as JSON from the page (Django's json_script), never as
   inline script, so the strict CSP holds. Tooltips render on the canvas (renderMode "richText"): the HTML
   tooltip would set inline style attributes, which the CSP refuses.
   Kinds: "price-volume" (trading: closes, price band, volume by method), "option" (the JSON is an ECharts
   option as is, for simple bar and line charts built by a view). */
(function () {
  "use strict";
  var BRAND = "#0b6e4f";
  var builders = {
    "price-volume": function (d) {
      var l = d.labels;
      var band = {type: "line", symbol: "none", lineStyle: {type: "dashed", width: 1, color: "#9aa5b1"}};
      var volume = function (key, color) {
        return {name: l[key], type: "bar", stack: "volume", xAxisIndex: 1, yAxisIndex: 1, data: d[key],
                itemStyle: {color: color}, large: true};
      };
      return {
        animation: false,
        legend: {top: 0, type: "scroll"},
        tooltip: {trigger: "axis", renderMode: "richText", axisPointer: {type: "cross"}},
        axisPointer: {link: [{xAxisIndex: "all"}]},
        grid: [{left: 56, right: 24, top: 64, height: "48%"}, {left: 56, right: 24, top: "72%", height: "16%"}],
        xAxis: [{type: "category", data: d.dates, boundaryGap: false, axisLabel: {show: false}},
                {type: "category", data: d.dates, gridIndex: 1, boundaryGap: true}],
        yAxis: [{type: "value", scale: true, name: l.price_axis},
                {type: "value", gridIndex: 1, name: l.volume_axis, splitNumber: 2}],
        dataZoom: [{type: "inside", xAxisIndex: [0, 1], start: d.dates.length > 60 ? 70 : 0, end: 100},
                   {type: "slider", xAxisIndex: [0, 1], bottom: 4, height: 18}],
        series: [
          {name: l.close, type: "line", data: d.close, symbol: "none", lineStyle: {width: 2, color: BRAND},
           itemStyle: {color: BRAND}},
          Object.assign({name: l.band_high, data: d.band_high}, band),
          Object.assign({name: l.band_low, data: d.band_low}, band),
          volume("volume_listed", "#5b9bd5"), volume("volume_bulk", "#f0a35e"), volume("volume_auction", "#a17fd1")
        ]
      };
    },
    "option": function (d) {
      d.tooltip = Object.assign({trigger: "axis"}, d.tooltip || {}, {renderMode: "richText"});
      return d;
    }
  };

  function render(el) {
    var source = document.getElementById(el.getAttribute("data-echart-source"));
    var build = builders[el.getAttribute("data-echart")];
    if (!source || !build || !window.echarts) { return; }
    var chart = window.echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(build(JSON.parse(source.textContent)));
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-echart-ready", "1");
  }

  function start() { document.querySelectorAll("[data-echart]").forEach(render); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  window.CETSCharts = {builders: builders, render: render};
}());
