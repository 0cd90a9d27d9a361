// The host picker: find hosts by name, CPU or tag, select a whole tag in one click; and bring
// the answer into view after the form is sent (it lands below the fold otherwise).
(function () {
  var tools = document.querySelector(".pick-tools");
  if (tools) {
    tools.hidden = false;
    var picks = Array.prototype.slice.call(document.querySelectorAll("#host-picks label.pick"));
    var tagSelect = document.querySelector("select[name=tag]");
    var count = document.getElementById("pick-count");
    var update = function () {
      var n = picks.filter(function (p) { return p.querySelector("input").checked; }).length;
      count.textContent = n + " selected";
    };
    document.getElementById("pick-search").addEventListener("input", function (event) {
      var words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
      picks.forEach(function (p) {
        var text = (p.textContent + " " + p.dataset.tags).toLowerCase();
        p.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
    document.querySelectorAll("button.pick-tag").forEach(function (button) {
      button.addEventListener("click", function () {
        if (tagSelect) { tagSelect.value = ""; }
        picks.forEach(function (p) {
          if (p.dataset.tags.split(" ").indexOf(button.dataset.tag) >= 0) { p.querySelector("input").checked = true; }
        });
        update();
      });
    });
    document.getElementById("pick-none").addEventListener("click", function () {
      picks.forEach(function (p) { p.querySelector("input").checked = false; });
      update();
    });
    picks.forEach(function (p) { p.querySelector("input").addEventListener("change", update); });
    update();
  }
  var target = /[?&](add|remove)=\d/.test(window.location.search) ? document.getElementById("what-if-result") : document.getElementById("baseline");
  if (target && window.location.search) { target.scrollIntoView({block: "start"}); }
})();
document.querySelectorAll("button.copy").forEach(function (button) {
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.target).textContent;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); }
    else { var area = document.createElement("textarea"); area.value = text; document.body.appendChild(area); area.select(); document.execCommand("copy"); area.remove(); done(); }
  });
});
