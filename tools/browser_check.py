#!/usr/bin/env python3
"""Check ftbook in a real browser (headless Debian Chromium driven by Playwright), as a person would use it.

    python tools/browser_check.py widget   # JupyterLab: run a notebook, click a cell, check the gallery and its overlay
    python tools/browser_check.py docs     # the offline docs in _docs/: landing page, a tutorial, no broken internal links
    python tools/browser_check.py all      # both (builds _docs/ first if it is missing)

Needs `/usr/bin/chromium` (Debian: `apt-get install -y chromium`) and the `playwright` Python package. Nothing downloads
a browser: `playwright install` is never needed. Screenshots go to `--out` (default /tmp/ftbook_browser). Each check
prints one PASS/FAIL line with its timing. A missing browser or Playwright is a FAIL with the reason (exit status 1):
a browser check that was asked for and could not run has not passed.
The notebook `nbs/tests/browser.ipynb` calls these functions in cells flagged `browser`.
"""
import argparse, contextlib, html.parser, json, os, re, secrets, shutil, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get('FTBOOK_CHROMIUM', '/usr/bin/chromium')
CHROME_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--no-first-run', '--disable-dev-shm-usage']
OUT = Path(tempfile.gettempdir())/'ftbook_browser'

def browser_missing() -> str|None:
    "Why the browser checks cannot run here, or None when they can."
    if not Path(CHROMIUM).exists(): return f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install -y chromium) as root"
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return "the playwright Python package is missing: pip install playwright (no `playwright install` needed)"
    return None

def require_browser():
    "Raise, with the reason, when the browser checks cannot run here (they were asked for, so that is a failure)."
    reason = browser_missing()
    if reason: raise RuntimeError(f"the browser checks were asked for but cannot run: {reason}")

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@contextlib.contextmanager
def chromium(viewport=(1280, 900)):
    "A Playwright page in headless Chromium; the browser is closed afterwards."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS, headless=True)
        try:
            page = b.new_page(viewport=dict(width=viewport[0], height=viewport[1]))
            page.errors = []; page.on('pageerror', lambda e: page.errors.append(str(e)))
            yield page
        finally: b.close()

@contextlib.contextmanager
def jupyterlab(root:Path, log_path:Path=OUT/'jupyterlab_server.log', timeout:float=90):
    "JupyterLab on 127.0.0.1 (a free port, a throwaway token, settings and config in temp folders); yields (base_url, token)."
    tmp, port, token = Path(tempfile.mkdtemp(prefix='ftbook_lab_')), free_port(), secrets.token_hex(16)
    settings = tmp/'settings'/'@jupyterlab'/'apputils-extension'; settings.mkdir(parents=True)
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(tmp/'config'), 'JUPYTER_DATA_DIR': str(tmp/'data'),
           'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'), 'IPYTHONDIR': str(tmp/'ipython'), 'MPLBACKEND': 'Agg',
           'PYTHONPATH': os.pathsep.join([str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])}
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}',
           '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}',
           f'--LabApp.user_settings_dir={tmp/"settings"}', f'--LabApp.workspaces_dir={tmp/"workspaces"}',
           '--LabApp.extension_manager=readonly', '--ServerApp.terminals_enabled=False'] + (['--allow-root'] if os.geteuid() == 0 else [])
    log_path.parent.mkdir(parents=True, exist_ok=True); log = open(log_path, 'w')
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        t0 = time.time()
        while True:
            if proc.poll() is not None: raise RuntimeError(f"JupyterLab exited with code {proc.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2) as r:
                    if r.status == 200: break
            except OSError: pass
            if time.time() - t0 > timeout: raise TimeoutError(f"JupyterLab did not answer within {timeout}s; see {log_path}")
            time.sleep(0.5)
        yield base, token
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)       # the server and the kernels it started (its own session)
            try: proc.wait(15)
            except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)
        log.close(); shutil.rmtree(tmp, ignore_errors=True)

# The data the widget notebook uses; the checker runs the same code to know what the gallery must show.
FIXTURE = """import numpy as np
rng = np.random.default_rng(7)
classes = ['ok', 'crack', 'dark']
targets = np.repeat([0, 1, 2], 14)
logits = rng.normal(0, 1, (42, 3)); logits[np.arange(42), targets] += 1.0
probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
names = [f'cell_{i:02d}.png' for i in range(42)]
images = [np.full((16, 16, 3), (37 * i) % 256, np.uint8) for i in range(42)]"""

# Evidence overlays for the widget: a small random CNN and one noise input per sample (so a tinted thumbnail always differs
# from the plain grey one); `Saliency` computes a map only when the gallery shows that image with the overlay on.
SALIENCY = """import torch
from ftbook.interpret import Saliency
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                          torch.nn.Flatten(), torch.nn.Linear(8, 3))
inputs = [torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(i)) for i in range(42)]
sal = Saliency(net, lambda i: inputs[i])"""

def expected_gallery(page_size:int=12):
    "The most confused cell (true, predicted), its count matrix, and the file names the gallery must show, by loss."
    import numpy as np
    g = {}; exec(FIXTURE, g)
    t, p = g['targets'], g['probs'].argmax(1); C = len(g['classes'])
    cm = np.zeros((C, C), int); np.add.at(cm, (t, p), 1)
    off = cm - np.diag(np.diag(cm)); i, j = np.unravel_index(off.argmax(), off.shape)
    idx = np.flatnonzero((t == i) & (p == j)); loss = -np.log(g['probs'][idx, t[idx]])
    return (int(i), int(j)), cm, [g['names'][k] for k in idx[np.argsort(-loss, kind='stable')]][:page_size]

CURVES = """import torch
from types import SimpleNamespace
from torch.utils.data import DataLoader, TensorDataset
from ftbook.learner import Learner
from ftbook.widgets import TrainingCurves
X = torch.randn(64, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0).long()
dl = DataLoader(TensorDataset(X, y), batch_size=16)
learn = Learner(torch.nn.Linear(4, 2), SimpleNamespace(train=dl, valid=dl), lr=0.1, progress=False)
learn.fit(3, cbs=[TrainingCurves()])"""

def write_widget_notebook(folder:Path) -> Path:
    "A notebook that shows a ConfusionMatrixWidget on the fixture data, then trains a tiny model with live curves."
    import nbformat
    nb = nbformat.v4.new_notebook(metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}})
    nb.cells = [nbformat.v4.new_code_cell(FIXTURE + '\n' + SALIENCY + '\nfrom ftbook.widgets import ConfusionMatrixWidget'),
                nbformat.v4.new_code_cell('w = ConfusionMatrixWidget(targets, probs, classes, images=images, names=names, '
                                          'saliency=sal)\nw'),
                nbformat.v4.new_code_cell(CURVES)]
    path = folder/'widget_check.ipynb'; nbformat.write(nb, path); return path

# The pixels of every gallery thumbnail as the browser decoded them (a data URL per image), to see that they change.
GALLERY_PIXELS = """() => [...document.querySelectorAll('.ftb-gallery .ftb-item img')].map(im => {
    if (!(im.complete && im.naturalWidth > 0)) return null;
    const c = document.createElement('canvas'); c.width = im.naturalWidth; c.height = im.naturalHeight;
    c.getContext('2d').drawImage(im, 0, 0); return c.toDataURL(); })"""

def check_widget(out:Path=OUT, timeout:float=240) -> dict:
    "In JupyterLab: run a notebook, click the most confused cell, check the gallery, flag, overlay, normalise, curves."
    out.mkdir(parents=True, exist_ok=True); t0 = time.time(); root = Path(tempfile.mkdtemp(prefix='ftbook_nb_'))
    (i, j), cm, names = expected_gallery()
    write_widget_notebook(root)
    try:
        with jupyterlab(root, out/'jupyterlab_server.log') as (base, token), chromium() as page, contextlib.ExitStack() as stack:
            from playwright.sync_api import TimeoutError as PlaywrightTimeout
            page.set_default_timeout(timeout * 1000); stack.callback(lambda: page.screenshot(path=str(out/'widget_failure.png')))
            page.goto(f'{base}/lab/tree/widget_check.ipynb?token={token}', wait_until='domcontentloaded')
            page.wait_for_selector('.jp-NotebookPanel .jp-Cell .cm-content')
            with contextlib.suppress(PlaywrightTimeout):                       # JupyterLab may ask which kernel to start
                page.locator('.jp-Dialog .jp-mod-accept').click(timeout=15_000)
            t_lab = time.time() - t0
            page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
            page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
            page.wait_for_selector(f'.ftb-cell-{i}-{j}')
            t_widget = time.time() - t0
            shown = {tuple(map(int, re.findall(r'ftb-cell-(\d+)-(\d+)', c)[0])): page.locator(f'.{c}').inner_text().strip()
                     for c in [f'ftb-cell-{a}-{b}' for a in range(len(cm)) for b in range(len(cm))]}
            assert shown == {k: str(v) for k, v in zip([(a, b) for a in range(len(cm)) for b in range(len(cm))], cm.ravel())}, \
                f"matrix shows {shown}, expected {cm.tolist()}"
            page.locator(f'.ftb-cell-{i}-{j}').click()                                   # the person clicks the cell
            page.wait_for_function(f'document.querySelectorAll(".ftb-gallery .ftb-item").length == {len(names)}')
            got = page.locator('.ftb-gallery .ftb-item b').all_inner_texts()
            assert got == names, f"gallery shows {got}, expected {names}"
            page.wait_for_function('[...document.querySelectorAll(".ftb-gallery .ftb-item img")].every(im => im.complete && im.naturalWidth > 0)')
            page.keyboard.press('Control+b')                                     # hide the file browser, as people do
            page.locator('.ftb-gallery').scroll_into_view_if_needed()
            page.screenshot(path=str(out/'widget_gallery.png'))
            page.locator('.ftb-gallery .ftb-item').first.locator('button', has_text='flag').click()
            page.wait_for_selector('text=1 flagged as suspected label errors')             # the kernel saw the click
            plain = page.evaluate(GALLERY_PIXELS)
            assert len(plain) == len(names) and all(plain), f"{len(plain)} thumbnails, some not decoded"
            page.locator('.ftb-overlay button', has_text='evidence: predicted class').click()   # the overlay toggle
            changed = (f'(old) => {{ const now = ({GALLERY_PIXELS})(); return now.length === {len(names)} && '
                       'now.every((d, k) => d && d !== old[k]); }')
            page.wait_for_function(changed, arg=plain)                        # every thumbnail now shows its map
            page.wait_for_selector('text=tinted by the evidence for the predicted class')
            got = page.locator('.ftb-gallery .ftb-item b').all_inner_texts()
            assert got == names, f"with the overlay the gallery shows {got}, expected {names}"
            page.locator('.ftb-gallery').scroll_into_view_if_needed(); page.screenshot(path=str(out/'widget_overlay.png'))
            tinted = page.evaluate(GALLERY_PIXELS)
            page.locator('.ftb-overlay button', has_text='image').click()             # back to the plain images
            page.wait_for_function(f'(old) => JSON.stringify(({GALLERY_PIXELS})()) === JSON.stringify(old)', arg=plain)
            n_changed = sum(a != b for a, b in zip(plain, tinted))
            page.locator('button', has_text='by true class').first.click()
            page.wait_for_function('document.querySelector(".ftb-cell-0-0").innerText.trim().endsWith("%")')
            page.screenshot(path=str(out/'widget_normalised.png'))
            page.wait_for_selector('.ftb-curves >> text=epoch 3/3')                       # the live curves reached the end
            n_panels = page.locator('.ftb-curves').count()
            assert n_panels == 1, f"expected one training-curves panel, found {n_panels}"
            page.wait_for_function('[...document.querySelectorAll(".ftb-curves img")].every(im => im.complete && im.naturalWidth > 0)')
            page.locator('.ftb-curves').scroll_into_view_if_needed(); page.screenshot(path=str(out/'widget_curves.png'))
            errors = list(page.errors); stack.pop_all()                   # passed: no failure screenshot
    finally: shutil.rmtree(root, ignore_errors=True)
    return dict(cell=(i, j), gallery=names, overlay_changed=n_changed, lab_ready_s=round(t_lab, 1),
                widget_shown_s=round(t_widget, 1), seconds=round(time.time() - t0, 1), page_errors=errors,
                screenshots=[str(out/f'widget_{n}.png') for n in ('gallery', 'overlay', 'normalised', 'curves')])

class _Links(html.parser.HTMLParser):
    def __init__(self): super().__init__(); self.links, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag in ('img', 'link', 'script') and (a.get('src') or a.get('href')): self.links.append(a.get('src') or a.get('href'))

@contextlib.contextmanager
def serve_folder(folder:Path):
    "A static HTTP server for `folder` on 127.0.0.1; yields its base URL."
    srv = ThreadingHTTPServer(('127.0.0.1', 0), partial(type('Quiet', (SimpleHTTPRequestHandler,), {'log_message': lambda *a: None}),
                                                       directory=str(folder)))
    th = threading.Thread(target=srv.serve_forever, daemon=True); th.start()
    try: yield f'http://127.0.0.1:{srv.server_address[1]}/'
    finally: srv.shutdown(); srv.server_close()

def broken_links(site:Path) -> tuple[list[str], int]:
    "Every internal link and resource of every page in `site` that points to a missing file or a missing #anchor."
    pages, bad, n = {}, [], 0
    for f in site.rglob('*.html'):
        p = _Links(); p.feed(f.read_text()); pages[f.resolve()] = p
    for f, p in pages.items():
        for href in p.links:
            if re.match(r'^(data:|mailto:|javascript:)', href) or re.match(r'^[a-z]+://', href): continue
            n += 1; path, _, frag = urllib.parse.unquote(href).partition('#')
            target = (f.parent/path).resolve() if path else f
            if not target.exists(): bad.append(f"{f.relative_to(site.resolve())}: {href} (no such file)"); continue
            if frag and target in pages and frag not in pages[target].ids:
                bad.append(f"{f.relative_to(site.resolve())}: {href} (no #{frag} on that page)")
    return bad, n

def check_docs(site:Path=ROOT/'_docs', out:Path=OUT) -> dict:
    "Open the landing page and a tutorial in the browser; check every internal link, anchor and image of the site."
    out.mkdir(parents=True, exist_ok=True); t0 = time.time()
    if not (site/'index.html').exists(): raise FileNotFoundError(f"{site/'index.html'} is missing: run python tools/build_docs.py first")
    bad, n_links = broken_links(site)
    tutorials = sorted((site/'tutorials').glob('*.html')) if (site/'tutorials').exists() else []
    second = tutorials[0] if tutorials else next(site.rglob('widgets.html'), site/'widgets.html')
    shots = []
    with serve_folder(site) as base, chromium(viewport=(1280, 800)) as page:
        for f in [site/'index.html', second]:
            rel = f.relative_to(site).as_posix()
            page.goto(base + rel, wait_until='load')
            assert page.locator('nav.sidebar a').count() > 0, f"{rel} has no sidebar navigation"
            assert page.locator('h1.title').inner_text().strip(), f"{rel} has no title"
            broken_imgs = page.evaluate('[...document.images].filter(im => !(im.complete && im.naturalWidth > 0)).map(im => im.src.slice(0, 80))')
            bad += [f"{rel}: image {s} did not load" for s in broken_imgs]
            for href in page.eval_on_selector_all('nav.sidebar a', 'els => els.map(e => e.href)'):   # the browser follows the sidebar
                r = page.request.get(href)
                if r.status != 200: bad.append(f"{rel}: sidebar link {href} answers {r.status}")
            shot = out/f"docs_{rel.replace('/', '_').replace('.html', '')}.png"; page.screenshot(path=str(shot)); shots.append(str(shot))
        errors = list(page.errors)
    return dict(pages=len(list(site.rglob('*.html'))), links_checked=n_links, broken=bad, page_errors=errors,
                opened=[str(site/'index.html'), str(second)], screenshots=shots, seconds=round(time.time() - t0, 1))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('what', choices=['widget', 'docs', 'all'])
    ap.add_argument('--out', default=str(OUT), help='folder for screenshots')
    a = ap.parse_args(); out = Path(a.out)
    reason = browser_missing()
    if reason: print(f"FAIL  browser checks were asked for but cannot run: {reason}"); return 1
    ok = True
    if a.what in ('widget', 'all'):
        try: r = check_widget(out); print(f"PASS  widget in JupyterLab ({r['seconds']}s): {json.dumps(r)}")
        except Exception as e: ok = False; print(f"FAIL  widget in JupyterLab: {type(e).__name__}: {e}")
    if a.what in ('docs', 'all'):
        if not (ROOT/'_docs'/'index.html').exists(): subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py')], cwd=ROOT)
        try:
            r = check_docs(out=out); ok &= not r['broken']
            print(f"{'PASS' if not r['broken'] else 'FAIL'}  docs ({r['seconds']}s): {json.dumps(r)}")
        except Exception as e: ok = False; print(f"FAIL  docs: {type(e).__name__}: {e}")
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())
