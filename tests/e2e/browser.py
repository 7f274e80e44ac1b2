"""Headless Chromium for the report tests: load a rendered page at a given width and measure it.

Chromium's window cannot be narrower than 500 CSS pixels, so the page is loaded in an iframe of the
wanted width inside a host page; a probe script in the page posts its measurements to the host,
whose DOM Chromium dumps. No network: every host name resolves to nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path

#: Runs in the page once loaded: layout, citation links, resources fetched, then clicks the first
#: figure and reports whether an enlarged copy of it is shown in a full-window overlay.
PROBE = """<script>
window.__probeErrors = [];
window.addEventListener('error', function (e) {
  window.__probeErrors.push(
    e.message || (e.target && (e.target.src || e.target.href)) || 'resource error');
}, true);
window.addEventListener('load', function () {
  setTimeout(function () {
    var width = window.innerWidth;
    function describe(el) {
      return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
    }
    var all = document.querySelectorAll('body *');
    var overflowing = Array.prototype.filter.call(all, function (el) {
      var box = el.getBoundingClientRect();
      if (!(box.width > 0 && box.right > width + 1) || el.closest('[hidden]')) return false;
      for (var up = el.parentElement; up && up !== document.body; up = up.parentElement) {
        // scrolls inside its own box
        if (getComputedStyle(up).overflowX !== 'visible') return false;
      }
      return true;
    }).slice(0, 5).map(describe);
    var cites = Array.prototype.slice.call(document.querySelectorAll('a[role="doc-biblioref"]'));
    var facts = {
      innerWidth: width,
      scrollWidth: document.scrollingElement.scrollWidth,
      overflowing: overflowing,
      citationLinks: cites.length,
      citationLinksWithoutTarget: cites.filter(function (a) {
        var id = decodeURIComponent((a.getAttribute('href') || '').replace(/^#/, ''));
        return !document.getElementById(id);
      }).length,
      images: document.images.length,
      decoded: Array.prototype.filter.call(document.images, function (img) {
        return img.complete && img.naturalWidth > 0;
      }).length,
      remote: performance.getEntriesByType('resource').map(function (r) { return r.name; })
        .filter(function (name) { return !/^(data|blob|about):/.test(name); }),
      errors: window.__probeErrors
    };
    var first = document.querySelector('figure img');
    if (!first) { parent.postMessage(JSON.stringify(facts), '*'); return; }
    first.click();
    setTimeout(function () {
      facts.enlarged = Array.prototype.some.call(document.images, function (img) {
        if (img === first || img.src !== first.src) return false;
        if (!img.complete || !img.naturalWidth) return false;
        for (var up = img.parentElement; up; up = up.parentElement) {
          if (getComputedStyle(up).position === 'fixed') {
            var box = up.getBoundingClientRect();
            return box.width >= 0.9 * width && box.height >= 0.5 * window.innerHeight;
          }
        }
        return false;
      });
      parent.postMessage(JSON.stringify(facts), '*');
    }, 3000);
  }, 200);
});
</script>"""

HOST = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style>body{{margin:0}}iframe{{border:0;display:block}}</style></head>
<body><iframe src="{src}" style="width:{width}px;height:{height}px"></iframe><pre id="facts"></pre>
<script>window.addEventListener('message', function (e) {{
  document.getElementById('facts').textContent = e.data; }});</script>
</body></html>"""

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def chromium() -> str:
    """Debian's chromium (tools/system-deps.sh installs it)."""
    found = shutil.which("chromium")
    assert found, "Debian's chromium is missing: run `bash tools/system-deps.sh`"
    return found


def layout_facts(page: Path, width: int, workdir: Path, height: int = 900) -> dict:
    """What PROBE measures on `page` laid out `width` CSS pixels wide."""
    workdir.mkdir(parents=True, exist_ok=True)
    probed = workdir / f"{page.stem}-probed-{width}.html"
    probed.write_text(
        page.read_text(encoding="utf-8").replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8"
    )
    host = workdir / f"{page.stem}-host-{width}.html"
    host.write_text(HOST.format(src=probed.name, width=width, height=height), encoding="utf-8")
    profile = tempfile.mkdtemp(dir=workdir)
    proc = subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={max(width, 500) + 20},{height}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            host.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    match = re.search(r'<pre id="facts">(.+?)</pre>', proc.stdout, re.S)
    assert match, f"the page did not finish loading at width {width}: {proc.stderr[-1500:]}"
    return json.loads(unescape(match.group(1)))


def screenshot(page: Path, width: int, out: Path, height: int = 2400) -> Path:
    """A PNG of the first `height` pixels of `page` laid
    out `width` CSS pixels wide (for people to look at)."""
    host = out.with_suffix(".host.html")
    host.write_text(
        HOST.format(src=page.resolve().as_uri(), width=width, height=height), encoding="utf-8"
    )
    profile = tempfile.mkdtemp(dir=out.parent)
    subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={max(width, 500)},{height}",
            "--virtual-time-budget=5000",
            f"--screenshot={out}",
            host.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return out
