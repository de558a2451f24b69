// Tell the vendored @jupyter-widgets/html-manager (embed-amd.js) where its own
// assets (Font Awesome fonts) live: the folder this script is served from.
// webpack derives the bundles' public path from the AMD module URL
// ("@jupyter-widgets/html-manager/dist/..."), which RequireJS would otherwise
// resolve relative to the page, so every font would 404.
// Copied next to embed-amd.js by `make vendor`; loaded after require.js and
// before embed-amd.js (see nb_ipywidgets_js in _config.yml).
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (!here) return;
  var folder = new URL("./", here).href;
  window.__jupyter_widgets_assets_path__ = folder;
  if (window.requirejs && window.requirejs.config) {
    window.requirejs.config({
      paths: { "@jupyter-widgets/html-manager/dist": folder.replace(/\/$/, "") },
    });
  }
})();
