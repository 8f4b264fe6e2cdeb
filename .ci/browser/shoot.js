#!/usr/bin/env node
// Browser half of check_pages.py: loads each page in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), waits for MathJax, takes a
// full-page screenshot and writes what it measured as JSON.
//
// Usage: node shoot.js CONFIG.json   (written by check_pages.py)
//   config = {base, pages: [{name, path}], outDir, resultFile, chromium, timeoutMs}
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

// playwright adds --headless (headless: true) and --user-data-dir (a fresh temp profile, below).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function isLocal(url) {
  let u;
  try {
    u = new URL(url);
  } catch (e) {
    return true;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'ws:' && u.protocol !== 'wss:') return true;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

// Runs inside the page once it has settled.
function measure() {
  const visible = (el) => !!(el && el.getClientRects().length && el.getBoundingClientRect().height > 0 &&
    getComputedStyle(el).visibility !== 'hidden');

  // --- math ---
  const mjx = document.querySelectorAll('mjx-container');
  const merrors = Array.from(document.querySelectorAll('mjx-merror')).map(
    (e) => e.getAttribute('data-mjx-error') || e.textContent.trim());
  // MathJax 3's noundefined extension shows an unknown macro (\foo) as red text instead of an error.
  // (CHTML draws glyphs with CSS, so read the hidden assistive MathML copy.)
  const undefinedMacros = Array.from(document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]'))
    .filter((e) => /^\\[A-Za-z]+/.test(e.textContent.trim()))
    .map((e) => 'undefined macro ' + e.textContent.trim().slice(0, 40));
  merrors.push(...undefinedMacros);
  // Sphinx wraps every math node in span.math / div.math; after typesetting each holds an mjx-container.
  const unrendered = Array.from(document.querySelectorAll('span.math, div.math'))
    .filter((e) => !e.querySelector('mjx-container'))
    .map((e) => e.textContent.trim().slice(0, 80));
  // Raw TeX left in visible prose (outside code, scripts and typeset math).
  const rawTex = [];
  const errorText = [];
  const skip = 'pre, code, script, style, textarea, mjx-container, mjx-assistive-mml, .highlight, .cell_input, .output.text_plain, .output.stream';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texRe = /\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\n]{0,80}\\[a-zA-Z]+[^$\n]{0,80}\$/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest(skip)) continue;
    const t = n.textContent;
    if (texRe.test(t)) rawTex.push(t.trim().slice(0, 100));
    if (/MathJax error|Math input error|Math Processing Error/i.test(t)) errorText.push(t.trim().slice(0, 100));
  }

  // --- images ---
  const images = Array.from(document.images).map((img) => ({
    src: img.currentSrc || img.src,
    ok: img.complete && img.naturalWidth > 0,
    width: img.naturalWidth,
  }));

  // --- code cells (myst-nb) ---
  const cellInputs = Array.from(document.querySelectorAll('div.cell div.cell_input'));
  const highlighted = cellInputs.filter((c) => c.querySelector('.highlight pre span[class]')).length;

  // --- exercises / solutions (sphinx-exercise + sphinx-togglebutton) ---
  const solutions = Array.from(document.querySelectorAll('.solution'));
  const solutionsFolded = solutions.filter((s) => {
    // A folded solution shows its title (and toggle) but none of its body.
    const body = Array.from(s.querySelectorAll(':scope > *, :scope > details > *'))
      .filter((c) => !c.matches('.admonition-title, summary, button, .toggle-button, details'));
    if (s.tagName === 'DETAILS') return !s.open;
    const det = s.querySelector(':scope > details') || s.closest('details');
    if (det) return !det.open;
    return body.length > 0 && body.every((c) => !visible(c));
  }).length;
  const exercises = document.querySelectorAll('.exercise').length;

  // --- launch / header buttons (sphinx-book-theme) ---
  const launch = Array.from(document.querySelectorAll('.dropdown-launch-buttons a[href]')).map((a) => a.href);
  const headerButtons = Array.from(document.querySelectorAll('.article-header-buttons a[href], .article-header-buttons button'))
    .map((b) => (b.getAttribute('title') || b.getAttribute('aria-label') || b.textContent || '').trim())
    .filter(Boolean);

  // --- widgets (@jupyter-widgets/html-manager) ---
  // The manager renders each view next to its <script> tag, inside the same output container.
  const views = Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
  const widgetViews = views.length;
  const widgetsRendered = views.filter((s) => s.parentElement &&
    Array.from(s.parentElement.querySelectorAll('.jupyter-widgets, .widget-subarea')).some(visible)).length;

  // --- links and anchors ---
  const links = Array.from(document.querySelectorAll('a[href]')).map((a) => ({
    href: a.href,
    raw: a.getAttribute('href'),
    text: (a.textContent || '').trim().slice(0, 60),
  }));
  // Sphinx renders a cross-reference it could not resolve (e.g. {doc} to a chapter not in _toc)
  // as plain span/code.xref text with no link around it.
  const unresolvedRefs = Array.from(document.querySelectorAll('.xref'))
    .filter((e) => !e.closest('a')).map((e) => (e.textContent || '').trim().slice(0, 60));
  const ids = Array.from(document.querySelectorAll('[id]')).map((e) => e.id)
    .concat(Array.from(document.querySelectorAll('a[name]')).map((e) => e.getAttribute('name')));

  return {
    title: document.title,
    finalUrl: location.href,
    height: document.documentElement.scrollHeight,
    mathjaxLoaded: !!(window.MathJax && window.MathJax.version),
    mathjaxVersion: (window.MathJax && window.MathJax.version) || null,
    math: mjx.length,
    mathErrors: merrors,
    mathUnrendered: unrendered,
    rawTex,
    mathErrorText: errorText,
    images,
    codeCells: cellInputs.length,
    codeHighlighted: highlighted,
    solutions: solutions.length,
    solutionsFolded,
    exercises,
    launch,
    headerButtons,
    widgetViews,
    widgetsRendered,
    links,
    unresolvedRefs,
    ids,
  };
}

// Runs inside the page: what a reader at this viewport width sees cut off or too small.
async function layout() {
  const label = (el) => (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 70);
  const wider = (el) => el.scrollWidth > el.clientWidth + 1;
  // Code a reader must scroll sideways to read (code cells, literal blocks, nnlib listings).
  const codeWide = Array.from(document.querySelectorAll('article div.highlight pre'))
    .filter((e) => !e.closest('.cell_output') && wider(e)).map((e) => ({
      text: label(e), overflow: e.scrollWidth - e.clientWidth }));
  // Outputs: text (wraps by the book's CSS) and HTML/markdown outputs such as tables.
  const outputWide = Array.from(document.querySelectorAll(
    'article .cell_output pre, article .cell_output .output > table, article .cell_output .text_html'))
    .filter(wider).map((e) => ({ text: label(e), overflow: e.scrollWidth - e.clientWidth }));
  // Display equations: MathJax's container is the box; the book's CSS lets it scroll.
  const mathWide = Array.from(document.querySelectorAll('article mjx-container[display="true"]'))
    .filter((e) => wider(e) || e.getBoundingClientRect().right >
      (e.closest('.bd-article') || document.body).getBoundingClientRect().right + 1)
    .map((e) => ({ text: (e.querySelector('mjx-assistive-mml') || e).textContent.trim().slice(0, 70),
      overflow: e.scrollWidth - e.clientWidth }));

  // Figures: the smallest text they can show. The book draws text of at least 9 pt at the
  // PNG's own dpi (its pHYs chunk); shrunk to the displayed width that is
  // 9 pt * dpi / 72 * (displayed / natural) CSS px.
  async function pngDpi(src) {
    try {
      const buf = new Uint8Array(await (await fetch(src)).arrayBuffer());
      for (let i = 8; i + 12 < buf.length && i < 4096; i++) {
        if (buf[i] === 0x70 && buf[i + 1] === 0x48 && buf[i + 2] === 0x59 && buf[i + 3] === 0x73) {
          const ppm = ((buf[i + 4] << 24) >>> 0) + (buf[i + 5] << 16) + (buf[i + 6] << 8) + buf[i + 7];
          return buf[i + 12] === 1 ? ppm * 0.0254 : 72;
        }
      }
    } catch (e) { /* not fetchable: unknown */ }
    return 72;
  }
  const figures = [];
  for (const img of document.querySelectorAll('article img')) {
    if (!img.naturalWidth || img.closest('.bd-header, .navbar-brand, .sidebar-primary-items__start')) continue;
    // A widget's last rendering (its static twin, with alt text, sits beside it).
    if (img.closest('.jupyter-widgets, .widget-subarea, .widget-output')) continue;
    const src = img.currentSrc || img.src;
    const shown = img.getBoundingClientRect().width;
    const dpi = /\.png(\?|$)/i.test(src) ? await pngDpi(src) : null;
    const alt = (img.getAttribute('alt') || '').trim();
    const fileName = src.split('/').pop();
    // Drawn out of proportion: an inline height kept while max-width shrank the width.
    const box = img.getBoundingClientRect();
    const stretch = box.height > 0
      ? (box.width / box.height) / (img.naturalWidth / img.naturalHeight) : 1;
    figures.push({
      src: fileName, natural: img.naturalWidth, shown: Math.round(shown), dpi: dpi && Math.round(dpi),
      stretch: +stretch.toFixed(3),
      textPx: dpi ? +(9 * dpi / 72 * shown / img.naturalWidth).toFixed(1) : null,
      alt: alt && alt !== src && !src.endsWith(alt) && !/\.(png|svg|jpe?g|gif)$/i.test(alt) ? alt : '',
    });
  }
  // Text cut off with no way to scroll to the rest: inline math (the theme sets
  // span.math { overflow: hidden }) and the previous/next links at the foot of the page.
  const cut = (el) => {
    const st = getComputedStyle(el);
    return wider(el) && (st.overflowX === 'hidden' || st.overflowX === 'clip');
  };
  const clipped = Array.from(document.querySelectorAll(
    'article span.math, .prev-next-area a, .prev-next-area a *'))
    .filter(cut).map((e) => ({
      text: ((e.querySelector && e.querySelector('mjx-assistive-mml')) || e).textContent
        .trim().replace(/\s+/g, ' ').slice(0, 70),
      overflow: e.scrollWidth - e.clientWidth }));
  return {
    width: window.innerWidth,
    pageScrollWidth: document.documentElement.scrollWidth,
    codeWide, outputWide, mathWide, figures, clipped,
  };
}

async function checkPage(context, base, page, cfg) {
  const res = {
    name: page.name, path: page.path, consoleErrors: [], pageErrors: [],
    failedRequests: [], offlineRequests: [], screenshot: null, error: null,
  };
  const p = await context.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error') res.consoleErrors.push(m.text().slice(0, 300));
  });
  p.on('pageerror', (e) => res.pageErrors.push(String(e && e.message || e).slice(0, 300)));
  p.on('requestfailed', (r) => {
    if (isLocal(r.url())) res.failedRequests.push(`${r.url()} (${(r.failure() || {}).errorText || 'failed'})`);
  });
  p.on('response', (r) => {
    if (isLocal(r.url()) && r.status() >= 400) res.failedRequests.push(`${r.url()} (HTTP ${r.status()})`);
  });
  await p.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    res.offlineRequests.push(url);
    return route.abort('blockedbyclient');
  });

  try {
    await p.goto(base + page.path, { waitUntil: 'load', timeout: cfg.timeoutMs });
    // Images below the fold may be lazy: load them all before measuring.
    await p.evaluate(() => document.querySelectorAll('img[loading="lazy"]').forEach((i) => { i.loading = 'eager'; }));
    // MathJax 3: the page includes the script (deferred) only when it has math.
    const hasMathJax = await p.evaluate(() => !!document.querySelector('script[src*="mathjax"], script[src*="tex-"]'));
    if (hasMathJax) {
      await p.waitForFunction(() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise,
        null, { timeout: cfg.timeoutMs });
      await p.evaluate(() => window.MathJax.startup.promise);
    }
    await p.waitForLoadState('networkidle', { timeout: 15000 }).catch(() => {});
    await p.evaluate(() => Promise.all([
      document.fonts ? document.fonts.ready : null,
      ...Array.from(document.images).filter((i) => !i.complete).map((i) => new Promise((ok) => {
        i.addEventListener('load', ok); i.addEventListener('error', ok); setTimeout(ok, 10000);
      })),
    ]));
    Object.assign(res, await p.evaluate(measure));
    const stem = path.join(cfg.outDir, page.name.replace(/[\\/]/g, '__').replace(/\.html$/, ''));
    res.desktop = await p.evaluate(layout);
    await p.screenshot({ path: stem + '.png', fullPage: true, timeout: cfg.timeoutMs });
    res.screenshot = stem + '.png';
    // The same page on a phone (390 px, the width of a current iPhone in CSS px).
    await p.setViewportSize({ width: 390, height: 844 });
    await p.waitForTimeout(300);
    res.phone = await p.evaluate(layout);
    await p.screenshot({ path: stem + '.phone.png', fullPage: true, timeout: cfg.timeoutMs });
    await p.setViewportSize({ width: 1280, height: 900 });
  } catch (e) {
    res.error = String(e && e.message || e).split('\n')[0];
  }
  await p.close();
  return res;
}

async function main() {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  fs.mkdirSync(cfg.outDir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'book-check-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: cfg.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    serviceWorkers: 'block',
  });
  const results = [];
  try {
    for (const page of cfg.pages) {
      process.stderr.write(`  browser: ${page.path}\n`);
      results.push(await checkPage(context, cfg.base, page, cfg));
    }
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  fs.writeFileSync(cfg.resultFile, JSON.stringify(results, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
