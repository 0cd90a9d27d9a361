// Boxes that scroll sideways on a narrow screen (wide tables, charts, code) get keyboard focus,
// so they can be scrolled without a mouse (WCAG 2.1.1); re-checked when the window changes.
(function () {
  function mark() {
    document.querySelectorAll("table.list, .chart-wrap, .heatmap-wrap, pre").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) { box.setAttribute("tabindex", "0"); box.dataset.scrollFocus = "1"; }
      } else if (box.dataset.scrollFocus) {
        box.removeAttribute("tabindex"); delete box.dataset.scrollFocus;
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
