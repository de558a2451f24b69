"""Small build fixes for this book (loaded via `sphinx: local_extensions` in _config.yml).

* Sphinx 7.4 emits every *inline* script that an extension registers after the
  builder is initialised twice (once with filename None, once with ''), e.g.
  sphinx-thebe's `const THEBE_JS_URL = ...`, which then throws
  "Identifier 'THEBE_JS_URL' has already been declared" in the browser.
  We drop exact duplicates from each page's script list.
"""

from __future__ import annotations


def _dedupe_inline_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (
            getattr(js, "filename", str(js)) or "",
            getattr(js, "priority", None),
            tuple(sorted((k, str(v)) for k, v in attrs.items())),
        )
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_inline_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
