(function () {
  var uid = "@UID@";
  function init() {
    var root = document.getElementById(uid);
    if (!root || root.getAttribute("data-ready") === "1") { return; }
    var frames = JSON.parse(document.getElementById(uid + "-frames").textContent);
    var ctl = document.getElementById(uid + "-ctl");
    var img = document.getElementById(uid + "-img");
    var txt = document.getElementById(uid + "-txt");
    var val = document.getElementById(uid + "-val");
    function show() {
      var i = parseInt(ctl.value, 10);
      if (!(i >= 0 && i < frames.length)) { return; }
      var f = frames[i];
      if (f.s) { img.src = f.s; img.style.display = "block"; } else { img.removeAttribute("src"); img.style.display = "none"; }
      img.alt = root.getAttribute("data-alt") + f.l;
      txt.textContent = f.t;
      val.textContent = f.l;
      root.setAttribute("data-frame", String(i));
    }
    ctl.addEventListener("input", show);
    ctl.addEventListener("change", show);
    root.setAttribute("data-ready", "1");
    show();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
