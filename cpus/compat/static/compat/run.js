(function () {
  var box = document.getElementById("run-status");
  // The width is set here, not in a style attribute (the Content-Security-Policy allows none).
  box.querySelector(".bar").style.width = (box.dataset.status === "succeeded" ? 100 : 0) + "%";
  function poll() {
    fetch(box.dataset.url, {headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); }).then(function (run) {
      var bar = box.querySelector(".bar");
      bar.style.width = run.progress.percent + "%";
      box.querySelector(".progress").setAttribute("aria-valuenow", run.progress.percent);
      document.getElementById("run-state").textContent = run.status;
      document.getElementById("run-progress").textContent = run.progress.done + "/" + run.progress.total + " tiles";
      if (run.status === "succeeded" || run.status === "failed") { window.location.reload(); }
      else { setTimeout(poll, 700); }
    });
  }
  if (box.dataset.status === "pending" || box.dataset.status === "running") { setTimeout(poll, 300); }
  document.querySelectorAll(".tabs a").forEach(function (tab) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll(".tabs a").forEach(function (t) { t.classList.toggle("active", t === tab); });
      document.querySelectorAll(".heatmap-wrap").forEach(function (p) { p.hidden = p.dataset.panel !== tab.dataset.tab; });
    });
  });
  function show(cell) {
    var hypervisor = cell.closest("table").dataset.hypervisor;
    var url = box.dataset.url + "/cell?hypervisor=" + hypervisor + "&source=" + cell.dataset.source + "&destination=" + cell.dataset.destination;
    fetch(url).then(function (r) { return r.json(); }).then(function (v) {
      var panel = document.getElementById("cell-reasons");
      panel.hidden = false;
      document.getElementById("cell-title").textContent = v.source + " \u2192 " + v.destination + " (" + v.hypervisor + "): " + v.verdict;
      var body = document.getElementById("cell-body");
      body.textContent = "";
      var meaning = document.createElement("p");
      var link = document.createElement("a");
      link.href = "/glossary/#" + v.verdict;
      link.textContent = "What " + v.verdict + " means";
      meaning.appendChild(link);
      body.appendChild(meaning);
      var list = document.createElement("ul");
      list.className = "reasons";
      v.reasons.forEach(function (reason) {
        var item = document.createElement("li");
        item.textContent = reason.severity + " \u00b7 " + reason.axis + ": " + reason.message;
        list.appendChild(item);
      });
      if (!v.reasons.length) { var none = document.createElement("li"); none.textContent = "No reason against it."; list.appendChild(none); }
      body.appendChild(list);
      if (v.suggestion) { var s = document.createElement("p"); s.className = "warning-box"; s.textContent = v.suggestion.message; body.appendChild(s);
        if (v.suggestion.leaves && v.suggestion.leaves.length) { var l = document.createElement("p"); l.className = "suggestion-leaves"; l.textContent = "It still leaves: " + v.suggestion.leaves.join("; ") + "."; body.appendChild(l); }
      }
      panel.scrollIntoView({behavior: "smooth", block: "nearest"});
    });
  }
  document.querySelectorAll("td.cell").forEach(function (cell) {
    cell.addEventListener("click", function () { show(cell); });
    cell.addEventListener("keydown", function (e) { if (e.key === "Enter") { show(cell); } });
  });
})();
