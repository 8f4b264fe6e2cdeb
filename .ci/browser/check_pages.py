#!/usr/bin/env python3
"""Look at the built book in a real (headless) browser, fully offline.

    python .ci/browser/check_pages.py [--build-dir _build/html] \
        [--out _build/screenshots]

The first run does `npm ci --ignore-scripts` from .ci/browser/package.json
(playwright-core and the CDN assets the pages load) into a cache outside the work tree:
Sphinx would otherwise parse the ~1,500 .md files of a node_modules under the book's
source dir (jupyter-book's only_build_toc_files does not exclude hidden folders such as
.ci/).

Serves the built HTML on 127.0.0.1 (random free port) and rewrites every CDN URL the
pages use (MathJax 3, require.js, @jupyter-widgets/html-manager, ...) to /__cdn__/...,
served from that node_modules. Debian's /usr/bin/chromium (driven by playwright-core in
shoot.js) loads the index and every page in _toc.yml at 1280 and at 390 px, waits for
MathJax, saves a full-page screenshot per page and measures math, images, code cells,
solutions, launch buttons, widgets, console errors, requests, links and layout. Prints a
table; exits 1 if any page has a broken internal link or unresolved reference, a missing
image, a failed local request, a request that left the machine, a math error, or a
layout problem (see `layout_problems`); 2 if the check itself could not run.
Python standard library only (PyYAML is used for _toc.yml when available).
"""

from __future__ import annotations

import argparse
import hashlib
import html.parser
import json
import mimetypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from functools import cache
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Where `npm ci` installs; set by find_node_modules().
NODE_MODULES = HERE / "node_modules"

# CDN URL prefix in the built pages -> local prefix served by this script.
CDN_PREFIXES = {
    "https://cdn.jsdelivr.net/npm/": "/__cdn__/npm/",
    "https://unpkg.com/": "/__cdn__/npm/",
    "https://cdnjs.cloudflare.com/ajax/libs/": "/__cdn__/cdnjs/",
}
# cdnjs library -> (npm package, {file on cdnjs: file in the npm package})
CDNJS = {
    "require.js": (
        "requirejs",
        {"require.min.js": "require.js", "require.js": "require.js"},
    ),
}
SCRIPT_OR_LINK = re.compile(r"<(?:script|link)\b[^>]*>", re.I)
INTEGRITY = re.compile(r"\s+integrity=(\"[^\"]*\"|'[^']*')", re.I)
# Failures that also happen on the published site, caused by upstream packages rather
# than by the book: reported as warnings, not failures.
# (regex on the message, explanation)
KNOWN_UPSTREAM = [
    (
        r"/@jupyter-widgets/html-manager/dist/[0-9a-f]+\.(woff2?|ttf|eot|svg)\b",
        "html-manager 1.0.6 embed-amd.js requests its Font Awesome fonts relative to "
        "the page URL (404 on the live site too; only widget icons are affected)",
    ),
    (
        r"Failed to load resource: the server responded with a status of 404",
        "console echo of the 404s listed for this page",
    ),
    (
        r"Identifier 'THEBE_JS_URL' has already been declared",
        "jupyter-book 1.x loads sphinx-thebe's inline config twice (harmless)",
    ),
    (
        r"reading 'Queue'",
        "html-manager calls the MathJax 2 API MathJax.Hub.Queue, absent in MathJax 3: "
        "math inside widget labels is not typeset",
    ),
    (
        r"Got invalid theme mode",
        "pydata-sphinx-theme on a fresh browser profile (no saved light/dark mode)",
    ),
]
META_REFRESH = re.compile(
    r"<meta[^>]+http-equiv=[\"']refresh[\"'][^>]+url=([^\"'>]+)", re.I
)

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("font/woff", ".woff")
mimetypes.add_type("font/woff2", ".woff2")


def rewrite_html(text: str) -> str:
    for cdn, local in CDN_PREFIXES.items():
        text = text.replace(cdn, local)

    # SRI hashes pin the CDN's exact bytes (cdnjs ships a minified require.min.js, npm
    # does not), so drop them on the tags that now point at the local copies.
    def strip(m: re.Match) -> str:
        tag = m.group(0)
        return INTEGRITY.sub("", tag) if "/__cdn__/" in tag else tag

    return SCRIPT_OR_LINK.sub(strip, text)


def version_ok(installed: str, wanted: str) -> bool:
    """Does an installed npm version satisfy the version part of a CDN URL ("3",
    "1.0.6", "^2.0.0")?"""
    wanted = wanted.strip()
    if not wanted or wanted == "latest":
        return True
    if wanted[0] in "^~":
        return installed.split(".")[0] == wanted[1:].split(".")[0]
    wanted = wanted.lstrip("=v")
    return installed == wanted or installed.startswith(wanted + ".")


def resolve_cdn(path: str) -> tuple[Path | None, str]:
    """Map /__cdn__/... to a file under node_modules; returns (file, error message)."""
    kind, _, rest = path[len("/__cdn__/") :].partition("/")
    parts = [p for p in rest.split("/") if p]
    if kind == "npm":  # <name>[@ver]/<file> or @scope/<name>[@ver]/<file>
        n = 2 if parts and parts[0].startswith("@") else 1
        spec, tail = "/".join(parts[:n]), parts[n:]
        at = spec.rfind("@")
        name, wanted = (spec[:at], spec[at + 1 :]) if at > 0 else (spec, "")
    elif kind == "cdnjs":  # <lib>/<ver>/<file>
        if len(parts) < 3 or parts[0] not in CDNJS:
            return (
                None,
                f"cdnjs library {parts[:1]} is not mirrored: "
                "add it to CDNJS in check_pages.py",
            )
        name, files = CDNJS[parts[0]]
        wanted, tail = parts[1], [files.get("/".join(parts[2:]), "/".join(parts[2:]))]
    else:
        return None, f"unknown CDN kind {kind!r}"
    pkg_dir = NODE_MODULES / name
    pkg_json = pkg_dir / "package.json"
    if not pkg_json.is_file():
        return (
            None,
            f"npm package {name} is not installed: add it to .ci/browser/package.json",
        )
    meta = json.loads(pkg_json.read_text())
    if not version_ok(meta.get("version", ""), wanted):
        return None, (
            f"page wants {name}@{wanted} but {meta.get('version')} is installed: "
            "update .ci/browser/package.json"
        )
    if (
        not tail
    ):  # bare package URL: jsDelivr/unpkg serve the package's browser entry point
        tail = [
            meta.get("jsdelivr") or meta.get("unpkg") or meta.get("main") or "index.js"
        ]
    target = (pkg_dir / "/".join(tail)).resolve()
    if not target.is_relative_to(pkg_dir.resolve()) or not target.is_file():
        return None, f"{'/'.join(tail)} not found in npm package {name}"
    return target, ""


def find_node_modules(install: bool) -> Path | None:
    """node_modules for package-lock.json: $BOOK_BROWSER_NODE_MODULES,
    .ci/browser/node_modules (npm ci run by hand), or a cache keyed by the lock file's
    hash (installed here if missing)."""
    if os.environ.get("BOOK_BROWSER_NODE_MODULES"):
        return Path(os.environ["BOOK_BROWSER_NODE_MODULES"]).resolve()
    if (HERE / "node_modules" / "playwright-core").is_dir():
        print(
            "warning: using .ci/browser/node_modules; `jupyter-book build .` will "
            "parse its .md files unless _config.yml excludes .ci (delete it to use the "
            "cache instead)",
            file=sys.stderr,
        )
        return HERE / "node_modules"
    lock = HERE / "package-lock.json"
    key = hashlib.sha256(
        lock.read_bytes() + (HERE / "package.json").read_bytes()
    ).hexdigest()[:16]
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "book-browser-check"
    )
    target = cache / key
    if (target / "node_modules" / ".complete").is_file():
        return target / "node_modules"
    npm = shutil.which("npm")
    if not install or not npm:
        return None
    print(
        f"installing .ci/browser/package-lock.json into {target} (npm ci)...",
        file=sys.stderr,
    )
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(lock, target)
    shutil.copy2(HERE / "package.json", target)
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    if subprocess.run(cmd, cwd=target).returncode != 0:
        return None
    (target / "node_modules" / ".complete").touch()
    return target / "node_modules"


def make_handler(build_dir: Path, notes: list[str]):
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(build_dir), **kw)

        def log_message(self, fmt, *args):  # quiet; the browser side reports failures
            pass

        def end_headers(self):
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def _send(self, body: bytes, ctype: str, head: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _serve(self, head: bool) -> None:
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            if path.startswith("/__cdn__/"):
                target, err = resolve_cdn(path)
                if target is None:
                    notes.append(f"{path}: {err}")
                    self.send_error(404, err)
                    return
                ctype = (
                    mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                )
                self._send(target.read_bytes(), ctype, head)
                return
            local = Path(self.translate_path(path))
            if local.is_dir() and path.endswith("/"):
                local = local / "index.html"
            if local.suffix == ".html" and local.is_file():
                text = local.read_text(encoding="utf-8", errors="replace")
                self._send(
                    rewrite_html(text).encode("utf-8"), "text/html; charset=utf-8", head
                )
                return
            super().do_HEAD() if head else super().do_GET()

        def do_GET(self):
            self._serve(head=False)

        def do_HEAD(self):
            self._serve(head=True)

    return Handler


def toc_pages(toc: Path) -> list[str]:
    """Documents in _toc.yml, root first, as build-relative .html paths."""
    text = toc.read_text()
    docs: list[str] = []
    try:
        import yaml

        def walk(node):
            if isinstance(node, dict):
                for key in ("root", "file"):
                    if isinstance(node.get(key), str):
                        docs.append(node[key])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(yaml.safe_load(text))
    except ImportError:
        docs = re.findall(
            r"^\s*(?:-\s*)?(?:root|file):\s*['\"]?([^'\"\s#]+)", text, re.M
        )
    out: list[str] = []
    for d in docs:
        d = re.sub(r"\.(md|ipynb|rst|myst)$", "", d.strip("/")) + ".html"
        if d not in out:
            out.append(d)
    return out


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if v and (k == "id" or (k == "name" and tag == "a")):
                self.ids.add(v)


@cache
def static_ids(file: Path) -> frozenset[str]:
    p = _Ids()
    p.feed(file.read_text(encoding="utf-8", errors="replace"))
    return frozenset(p.ids)


def triage(
    items: list[str], label: str, into: list[str], known: dict[str, int]
) -> None:
    """Append each distinct item to `into`, or count it in `known` if KNOWN_UPSTREAM
    explains it."""
    for item in dict.fromkeys(items):
        why = next((w for pat, w in KNOWN_UPSTREAM if re.search(pat, item)), None)
        if why:
            known[why] = known.get(why, 0) + 1
        else:
            into.append(f"{label}: {item}")


def check_links(
    res: dict, build_dir: Path, base: str, dom_ids: dict[Path, set[str]]
) -> list[str]:
    broken: list[str] = []
    seen: set[str] = set()
    for link in res.get("links", []):
        href = link["href"]
        if not href.startswith(base) or href in seen:
            # external (not checked offline), mailto:, javascript:, or already checked
            continue
        seen.add(href)
        u = urllib.parse.urlsplit(href)
        path = urllib.parse.unquote(u.path)
        target = build_dir / path.lstrip("/")
        if path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link['raw']!r} ({link['text']!r}): no file {path}")
            continue
        frag = urllib.parse.unquote(u.fragment)
        if frag and target.suffix == ".html":
            ids = static_ids(target) | dom_ids.get(target.resolve(), set())
            if frag not in ids:
                broken.append(
                    f"{link['raw']!r} ({link['text']!r}): no id #{frag} in {path}"
                )
    for ref in res.get("unresolvedRefs", []):
        broken.append(f"unresolved cross-reference shown as plain text: {ref!r}")
    return broken


MIN_TEXT_PX = 9.0  # smallest figure text a reader can read, in CSS px


def layout_problems(r: dict) -> list[str]:
    """What a reader sees cut off or too small: at 1280 px nothing may be wider than
    its box, figures keep text >= 9 CSS px and have alt text; at both widths figures
    keep their proportions and no inline math or previous/next link is cut off
    without a way to scroll to the rest; at 390 px the page itself never scrolls
    sideways (a wide equation or code block scrolls inside its own box)."""
    bad: list[str] = []
    desk, phone = r.get("desktop") or {}, r.get("phone") or {}
    wide = (("codeWide", "code"), ("outputWide", "output"), ("mathWide", "equation"))
    for key, what in wide:
        for e in desk.get(key, []):
            bad.append(
                f"{what} {e['overflow']} px wider than its box at 1280 px: "
                f"{e['text']!r}"
            )
    for f in desk.get("figures", []):
        if f["textPx"] is not None and f["textPx"] < MIN_TEXT_PX:
            bad.append(
                f"figure {f['src']}: {f['natural']} px at {f['dpi']} dpi shown "
                f"{f['shown']} px wide: 9 pt text becomes {f['textPx']} CSS px "
                f"(< {MIN_TEXT_PX:g})"
            )
        if not f["alt"]:
            bad.append(f"figure {f['src']} has no alt text")
    for name, res in (("1280", desk), ("390", phone)):
        for e in res.get("clipped", []):
            bad.append(
                f"cut off at {name} px with no way to scroll ({e['overflow']} px "
                f"hidden): {e['text']!r}"
            )
        for f in res.get("figures", []):
            if abs(f.get("stretch", 1) - 1) > 0.02:
                bad.append(
                    f"figure {f['src']} drawn out of proportion at {name} px "
                    f"(width/height {f['stretch']:g} times its own)"
                )
    if phone and phone["pageScrollWidth"] > phone["width"] + 1:
        bad.append(
            f"the page scrolls sideways at {phone['width']} px "
            f"(content {phone['pageScrollWidth']} px wide)"
        )
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--build-dir", type=Path, default=REPO / "_build" / "html")
    ap.add_argument("--out", type=Path, default=REPO / "_build" / "screenshots")
    ap.add_argument("--toc", type=Path, default=REPO / "_toc.yml")
    ap.add_argument(
        "--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium")
    )
    ap.add_argument("--timeout", type=float, default=60, help="seconds per page step")
    ap.add_argument("--no-install", action="store_true", help="never run npm ci")
    ap.add_argument("--json", type=Path, help="also write the full measurements here")
    ap.add_argument(
        "pages",
        nargs="*",
        help="only these build-relative pages (default: index + _toc.yml)",
    )
    args = ap.parse_args()

    build_dir = args.build_dir.resolve()
    if not (build_dir / "index.html").is_file():
        print(
            f"error: no {build_dir}/index.html: build the book first "
            "(jupyter-book build . -W -n --keep-going)",
            file=sys.stderr,
        )
        return 2
    global NODE_MODULES
    node = shutil.which("node")
    found = find_node_modules(install=not args.no_install)
    if not node or found is None or not (found / "playwright-core").is_dir():
        print(
            "error: needs node, npm and the packages of .ci/browser/package-lock.json "
            "(npm ci failed or --no-install; or set BOOK_BROWSER_NODE_MODULES)",
            file=sys.stderr,
        )
        return 2
    NODE_MODULES = found
    if not Path(args.chromium).is_file():
        print(
            f"error: no chromium at {args.chromium} "
            "(apt-get install chromium, or --chromium PATH)",
            file=sys.stderr,
        )
        return 2

    pages = args.pages or ["index.html", *toc_pages(args.toc)]
    problems: dict[str, list[str]] = {}
    browser_pages = []
    redirects: dict[str, str] = {}
    for page in pages:
        file = build_dir / page
        if not file.is_file():
            problems.setdefault(page, []).append("listed in _toc.yml but not built")
            continue
        m = META_REFRESH.search(
            file.read_text(encoding="utf-8", errors="replace")[:2000]
        )
        if m:  # jupyter-book's index.html is a bare redirect to the root page
            dest = (file.parent / m.group(1).strip()).resolve()
            redirects[page] = os.path.relpath(dest, build_dir)
            if not dest.is_file():
                problems.setdefault(page, []).append(
                    f"redirects to missing {redirects[page]}"
                )
            continue
        browser_pages.append(page)

    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(build_dir, notes))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"serving {build_dir} at {base}; screenshots -> {out_dir}", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = {
                "base": base,
                "pages": [{"name": p, "path": p} for p in browser_pages],
                "outDir": str(out_dir),
                "resultFile": str(Path(tmp) / "results.json"),
                "chromium": args.chromium,
                "timeoutMs": int(args.timeout * 1000),
            }
            (Path(tmp) / "config.json").write_text(json.dumps(cfg))
            proc = subprocess.run(
                [node, str(HERE / "shoot.js"), str(Path(tmp) / "config.json")],
                cwd=HERE,
                env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
            )
            if proc.returncode != 0 or not Path(cfg["resultFile"]).is_file():
                print(
                    f"error: browser driver failed (exit {proc.returncode})",
                    file=sys.stderr,
                )
                return 2
            results = json.loads(Path(cfg["resultFile"]).read_text())
    finally:
        server.shutdown()

    dom_ids = {
        (build_dir / r["path"]).resolve(): set(r.get("ids", [])) for r in results
    }
    rows = []
    for r in results:
        page = r["path"]
        bad = problems.setdefault(page, [])
        warn: list[str] = []
        known: dict[str, int] = {}

        if r.get("error"):
            bad.append(f"browser: {r['error']}")
        broken = check_links(r, build_dir, base, dom_ids)
        bad += [f"broken link: {b}" for b in broken]
        missing = [i["src"] for i in r.get("images", []) if not i["ok"]]
        bad += [f"image did not load: {s}" for s in missing]
        # one entry per URL (Chromium reports a 404 both as a response and as a failed
        # request)
        failed = list({f.rsplit(" (", 1)[0]: f for f in r["failedRequests"]}.values())
        triage(failed, "failed local request", bad, known)
        triage(
            r["offlineRequests"],
            "request left the machine (offline setup incomplete)",
            bad,
            known,
        )
        bad += [f"MathJax error: {e}" for e in dict.fromkeys(r.get("mathErrors", []))]
        bad += [f"math not typeset: {e!r}" for e in r.get("mathUnrendered", [])]
        bad += [f"math error text: {e!r}" for e in r.get("mathErrorText", [])]
        bad += [f"raw TeX in page text: {e!r}" for e in r.get("rawTex", [])]
        cut = layout_problems(r)
        bad += cut
        triage(r["consoleErrors"], "console error", warn, known)
        triage(r["pageErrors"], "page JS error", warn, known)
        if r.get("widgetViews", 0) > r.get("widgetsRendered", 0):
            unrendered = r["widgetViews"] - r["widgetsRendered"]
            warn.append(
                f"{unrendered} of {r['widgetViews']} widget view(s) not rendered"
            )
        if r.get("solutions", 0) > r.get("solutionsFolded", 0):
            unfolded = r["solutions"] - r["solutionsFolded"]
            warn.append(f"{unfolded} exercise solution(s) shown unfolded")
        if r.get("codeCells") and not r.get("launch"):
            warn.append("notebook page without launch buttons")
        if r.get("codeHighlighted", 0) < r.get("codeCells", 0):
            plain = r["codeCells"] - r["codeHighlighted"]
            warn.append(f"{plain} code cell(s) without syntax highlighting")
        status = "FAIL" if bad else "ok"
        problems[page] += [f"(warning) {w}" for w in warn]
        problems[page] += [f"(known upstream, x{n}) {w}" for w, n in known.items()]
        imgs = r.get("images", [])
        rows.append(
            [
                page,
                str(r.get("math", "-")),
                str(
                    len(r.get("mathErrors", []))
                    + len(r.get("mathUnrendered", []))
                    + len(r.get("rawTex", []))
                ),
                f"{len(imgs) - len(missing)}/{len(imgs)}",
                f"{r.get('codeHighlighted', 0)}/{r.get('codeCells', 0)}",
                f"{r.get('solutionsFolded', 0)}/{r.get('solutions', 0)}",
                f"{r.get('widgetsRendered', 0)}/{r.get('widgetViews', 0)}",
                str(len(r.get("launch", []))),
                str(
                    sum(w.startswith(("console error", "page JS error")) for w in warn)
                ),
                str(
                    sum(
                        b.startswith(("failed local request", "request left"))
                        for b in bad
                    )
                ),
                str(len(broken)),
                str(sum(known.values())),
                str(len(cut)),
                status,
            ]
        )
    for page, dest in redirects.items():
        rows.insert(
            0,
            [
                page,
                *[""] * 12,
                f"{'FAIL' if problems.get(page) else 'ok'} (redirect to {dest})",
            ],
        )
    for page in pages:
        if page not in redirects and page not in {r["path"] for r in results}:
            rows.append([page, *[""] * 12, "FAIL (not built)"])

    head = [
        "page",
        "math",
        "math err",
        "img ok",
        "code hl",
        "sol folded",
        "widgets",
        "launch",
        "console",
        "req fail",
        "bad links",
        "known",
        "layout",
        "status",
    ]
    widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(
        f"{{:{'<' if i in (0, len(head) - 1) else '>'}{w}}}"
        for i, w in enumerate(widths)
    )
    print(fmt.format(*head).rstrip())
    for row in rows:
        print(fmt.format(*row).rstrip())
    print(
        "\nmath = typeset mjx-container elements;"
        " math err = MathJax errors + untypeset math + raw TeX;"
        "\nimg ok / code hl / sol folded / widgets = good/total;"
        " console = JS errors (warnings only);"
        "\nreq fail = failed local + off-machine requests;"
        " known = upstream issues, not failures (below)"
        "\nlayout = cut off at 1280 px (code, output, equation), figure text < 9 px,"
        " no alt text, sideways scrolling at 390 px"
    )
    for page in pages:
        if problems.get(page):
            print(f"\n{page}:")
            for p in problems[page]:
                print(f"  - {p}")
    for n in dict.fromkeys(notes):
        print(f"server: {n}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    failing = [
        p for p, ps in problems.items() if any(not x.startswith("(") for x in ps)
    ]
    print(
        f"\n{len(pages) - len(failing)}/{len(pages)} pages ok; screenshots in {out_dir}"
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
