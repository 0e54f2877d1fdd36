#!/usr/bin/env python3
"""Build the documentation site offline, without Quarto: `_docs/` with navigation, code, saved outputs and widget snapshots.

    python tools/build_docs.py             # process nbs/ as nbdev does, then render every page into _docs/
    python tools/build_docs.py --no-proc   # re-render from the processed notebooks already in _proc/
    python tools/build_docs.py --out DIR   # write the site somewhere else

Step 1 runs nbdev's own notebook processors (`nbdev.serve.proc_nbs`: frontmatter from the title cell, `show_doc` for
every exported name, hidden and export-only cells removed, backticked names linked) into `_proc/`. Unlike
`nbdev_proc_nbs`/`nbdev_docs` it never calls `_ensure_quarto`, so nothing is downloaded. Step 2 renders each processed
notebook with a small HTML template: the sidebar follows `nbs/sidebar.yml`, the navbar `nbs/_quarto.yml`, links to
`.ipynb` files and to the doc host become relative `.html` links, and outputs are shown as saved (figures inline;
a widget shows its static `text/html` snapshot). Users with Quarto can still run `nbdev_docs` on the same files.
"""
import argparse, html, json, os, re, shutil, sys, time
from pathlib import Path

import yaml
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'

def html_name(nb_rel:str) -> str:
    "nbdev's output name for a notebook path relative to nbs/: `00_core.ipynb` -> `core.html` (as `_nbpath2html`)."
    p = Path(nb_rel)
    return p.with_name(re.sub(r'^\d+[a-zA-Z0-9]*_', '', p.name.lower())).with_suffix('.html').as_posix()

def slug(text:str) -> str:
    "Quarto-style heading id: lower case, spaces to dashes, only letters, digits, `_`, `-` and `.` kept."
    return re.sub(r'[^a-z0-9_.\-]', '', re.sub(r'\s+', '-', html.unescape(re.sub(r'<[^>]+>', '', text)).strip().lower()))

def frontmatter(nb:dict) -> dict:
    "The YAML frontmatter nbdev's FrontmatterProc puts in the first raw cell."
    for c in nb['cells']:
        src = ''.join(c['source'])
        m = re.match(r'^---\s*\n(.*?)\n---\s*$', src.strip(), re.S) if c['cell_type'] == 'raw' else None
        if m: return yaml.safe_load(m.group(1)) or {}
    return {}

def directives(src:str) -> dict:
    "Quarto/nbdev `#| key: value` directives at the top of a cell."
    d = {}
    for line in src.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m: d[m.group(1)] = m.group(2).strip()
        elif line.strip(): break
    return d

def md(text:str) -> str:
    "Markdown (with Quarto's link attributes and fenced divs) to HTML."
    text = re.sub(r'(\]\([^)\s]*\))\{[^}\n]*\}', r'\1', text)           # [x](url){target="_blank"} -> [x](url)
    text = re.sub(r'^:::+\s*\{?\.?([\w-]*)[^\n]*$', lambda m: f'<div class="{m.group(1)}">' if m.group(1) else '</div>',
                  text, flags=re.M)                                        # ::: {.callout-note} ... :::
    out = markdown2html_mistune(text)
    return re.sub(r'<h([1-6]) id="([^"]*)">(.*?)<a class="anchor-link" href="#[^"]*">', 
                  lambda m: f'<h{m.group(1)} id="{slug(m.group(3))}">{m.group(3)}<a class="anchor-link" href="#{slug(m.group(3))}">',
                  out, flags=re.S)

def strip_ansi(s:str) -> str: return re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', s)
def join(x) -> str: return ''.join(x) if isinstance(x, list) else str(x)

def render_output(o:dict, asis:bool) -> str:
    "One saved output as HTML: widget snapshot, HTML, figure, markdown or text, in that order of preference."
    t = o.get('output_type')
    if t == 'stream' and not join(o.get('text', '')).strip(): return ''
    if t == 'stream': return f'<pre class="out stream {o.get("name", "")}">{html.escape(strip_ansi(join(o["text"])))}</pre>'
    if t == 'error': return f'<pre class="out error">{html.escape(strip_ansi(chr(10).join(o.get("traceback", []))))}</pre>'
    d = o.get('data', {})
    if asis and 'text/markdown' in d: return f'<div class="out md">{md(join(d["text/markdown"]))}</div>'
    if 'text/html' in d: return f'<div class="out html">{join(d["text/html"])}</div>'
    for mime in ('image/png', 'image/jpeg', 'image/gif'):
        if mime in d: return f'<div class="out fig"><img src="data:{mime};base64,{join(d[mime]).strip()}" alt="figure"></div>'
    if 'image/svg+xml' in d: return f'<div class="out fig">{join(d["image/svg+xml"])}</div>'
    if 'text/markdown' in d: return f'<div class="out md">{md(join(d["text/markdown"]))}</div>'
    if WIDGET_MIME in d: return '<div class="out widget-note">Interactive widget: run the notebook in Jupyter to use it.</div>'
    if join(d.get('text/plain', '')).strip(): return f'<pre class="out">{html.escape(strip_ansi(join(d["text/plain"])))}</pre>'
    return ''

FMT = HtmlFormatter(cssclass='highlight')

def render_cell(c:dict) -> str:
    src = join(c.get('source', ''))
    if c['cell_type'] == 'markdown': return f'<div class="md">{md(src)}</div>' if src.strip() else ''
    if c['cell_type'] != 'code' or not src.strip(): return ''
    d = directives(src)
    if d.get('include') == 'false': return ''
    code = '\n'.join(l for l in src.splitlines() if not re.match(r'^#\|', l)).strip('\n')
    parts = [] if d.get('echo') == 'false' or not code.strip() else [highlight(code, PythonLexer(), FMT)]
    if d.get('output') != 'false': parts += [render_output(o, d.get('output') == 'asis') for o in c.get('outputs', [])]
    return f'<div class="cell">{"".join(parts)}</div>' if any(parts) else ''

def nav_entries(items, pages:dict, warn:list) -> list:
    "sidebar.yml contents -> [(section or None, [(title, html_path)])], dropping pages that do not exist."
    out, loose = [], []
    for it in items:
        if isinstance(it, dict) and 'section' in it:
            sub = [e for e in (_entry(x, pages, warn) for x in it.get('contents', [])) if e]
            if sub: out.append((it['section'], sub))
        else:
            e = _entry(it, pages, warn)
            if e: loose.append(e)
    return ([(None, loose)] if loose else []) + out

def _entry(x, pages:dict, warn:list):
    href, text = (x, None) if isinstance(x, str) else (x.get('href'), x.get('text'))
    key = html_name(href) if str(href).endswith('.ipynb') else href
    if key not in pages: warn.append(f"sidebar.yml names {href!r}, which has no page (yet): left out"); return None
    return (text or pages[key]['title'], key)

def rel(target:str, page:str) -> str:
    "Relative URL from `page` (a site path like tutorials/x.html) to `target` (a site path, maybe with #fragment)."
    depth = page.count('/')
    return '../' * depth + target

def fix_links(body:str, page:str, pages:dict, doc_prefix:str) -> str:
    "Rewrite .ipynb links and nbdev's absolute doc-host links as relative .html links."
    here = Path(page).parent
    def sub(m):
        url = m.group(2)
        if doc_prefix and url.startswith(doc_prefix):   # nbdev's automatic link to a name: aim at the nearest heading there
            target, _, frag = url[len(doc_prefix):].partition('#'); ids = pages.get(target, {}).get('ids', set())
            if frag and frag not in ids: frag = frag.split('.')[0] if frag.split('.')[0] in ids else ''  # method -> its class
            return f'{m.group(1)}"{rel(target, page)}{"#" + frag if frag else ""}"'
        if re.match(r'^[a-z]+:|^#|^/', url): return m.group(0)
        path, _, frag = url.partition('#')
        if path.endswith('.ipynb'):
            site = html_name(os.path.normpath((here/path).as_posix()))
            return f'{m.group(1)}"{rel(site, page)}{"#" + frag if frag else ""}"'
        return m.group(0)
    return re.sub(r'(href=)"([^"]*)"', sub, body)

def lenient_filter():
    "nbdev's processors, except that a cell failing during the show_doc run is skipped instead of stopping the notebook."
    from nbdev.processors import FilterDefaults, exec_show_docs
    class lenient_exec_show_docs(exec_show_docs):
        def __call__(self, cell):
            try: super().__call__(cell)
            except Exception: self.k.exc = None   # a cell mixing imports with code that needs earlier cells
    class LenientFilter(FilterDefaults):
        def base_procs(self): return [lenient_exec_show_docs if p is exec_show_docs else p for p in super().base_procs()]
    return LenientFilter

def _proc_one(o):
    "Process one notebook (in a worker process); with `lenient`, failing show_doc-run cells are skipped."
    import nbdev.serve_drv
    from nbdev.processors import FilterDefaults
    s, d, lenient = o
    nbdev.serve_drv.main((s, d, lenient_filter() if lenient else FilterDefaults))

def _skip(rel:Path) -> bool: return any(s.startswith(('.', '_')) for s in rel.parts[:-1]) or rel.name.startswith('.')

def process_notebooks(proc_dir:Path, n_workers:int=2, quiet:bool=False) -> list[str]:
    "Run nbdev's processors (as `nbdev.serve.proc_nbs`, minus Quarto) on changed notebooks; a failing one does not stop the rest."
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    import nbdev.serve_drv
    from nbdev.config import get_config
    cfg, todo = get_config(), []
    stamp = max(cfg.config_file.stat().st_mtime, Path(nbdev.serve_drv.__file__).stat().st_mtime)
    if proc_dir.exists() and proc_dir.stat().st_mtime < stamp: shutil.rmtree(proc_dir)   # settings or nbdev changed
    for s in sorted(NBS.rglob('*')):
        r = s.relative_to(NBS)
        if not s.is_file() or _skip(r) or (r.name.startswith('_') and r.name != '_quarto.yml'): continue
        d = proc_dir/r
        if d.exists() and d.stat().st_mtime >= s.stat().st_mtime: continue
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.suffix == '.ipynb': todo.append((s, d))
        else: shutil.copy2(s, d)
    if not quiet and todo: print(f"processing {len(todo)} notebook(s) with nbdev's processors ...", flush=True)
    notes_file = proc_dir/'.ftbook_proc_notes.json'   # notebooks built leniently, remembered across cached builds
    notes = json.loads(notes_file.read_text()) if notes_file.exists() else {}
    for s, _ in todo: notes.pop(str(s.relative_to(ROOT)), None)
    old = os.getcwd(); os.chdir(ROOT)
    try:
        with ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context('spawn')) as ex:
            futs = {ex.submit(_proc_one, (s, d, False)): (s, d) for s, d in todo}
            failed = []
            for f, (s, d) in futs.items():
                try: f.result()
                except Exception as e:
                    msg = str(e).strip().splitlines()[0].rstrip(' :') if str(e).strip() else type(e).__name__
                    failed.append((s, d, msg))
            retry = {ex.submit(_proc_one, (s, d, True)): (s, d, msg) for s, d, msg in failed}
            for f, (s, d, msg) in retry.items():
                try: f.result(); how = 'built with that cell skipped'
                except Exception: how = 'page left out'
                if d.exists() and how == 'page left out': d.unlink()
                notes[str(s.relative_to(ROOT))] = (f"nbdev_docs would fail on {s.relative_to(ROOT)} ({msg}: nbdev runs every "
                    f"cell with an import to render show_doc, so put imports in cells of their own; see nbdev's FAQ): {how}")
    finally: os.chdir(old)
    proc_dir.mkdir(parents=True, exist_ok=True)
    notes = {k: v for k, v in notes.items() if (ROOT/k).exists()}
    notes_file.write_text(json.dumps(notes, indent=1)); proc_dir.touch()
    return [notes[k] for k in sorted(notes)]

CSS = """
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;line-height:1.5}
header{background:#2c3e50;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#fff;text-decoration:none}header .brand{font-weight:600;font-size:1.2rem}
.layout{display:flex;align-items:flex-start}
nav.sidebar{width:230px;flex:none;padding:1rem;border-right:1px solid #eee;position:sticky;top:0;max-height:100vh;overflow:auto;font-size:.92rem}
nav.sidebar .section{font-weight:600;margin-top:.9rem;color:#555}nav.sidebar ul{list-style:none;padding-left:.6rem;margin:.2rem 0}
nav.sidebar a{color:#2c3e50;text-decoration:none}nav.sidebar a.active{font-weight:700;color:#0d6efd}
main{flex:1;min-width:0;max-width:980px;padding:1rem 2rem}
nav.toc{width:200px;flex:none;padding:1rem;font-size:.85rem;position:sticky;top:0;overflow-wrap:anywhere;max-height:100vh;overflow-y:auto}nav.toc ul{list-style:none;padding-left:.5rem}
nav.toc a{color:#555;text-decoration:none}
h1.title{margin-bottom:.2rem}.description{font-style:italic;opacity:.75;font-size:1.15rem;margin-bottom:1.5rem}
.highlight{background:#f7f7f9;border-radius:4px;padding:.2rem .8rem;overflow-x:auto}
pre.out{margin:.2rem 0 .2rem .8rem;border-left:2px solid lightsalmon;padding-left:.6rem;overflow-x:auto;white-space:pre-wrap}
pre.error{color:#a00}.out.fig img{max-width:100%}.out.html{overflow-x:auto;margin-left:.8rem}
.widget-note{color:#666;font-style:italic;margin-left:.8rem}
.md table,.out table{border-collapse:collapse}.md td,.md th{border:1px solid #ddd;padding:.2rem .5rem}
a.anchor-link{visibility:hidden;margin-left:.3rem;text-decoration:none}h2:hover a.anchor-link,h3:hover a.anchor-link{visibility:visible}
.cell{margin-bottom:1rem}.pager{display:flex;justify-content:space-between;margin:2rem 0;border-top:1px solid #eee;padding-top:1rem}
.callout-note,.callout-tip,.callout-warning{border-left:4px solid #0d6efd;background:#f3f7ff;padding:.4rem .8rem;margin:1rem 0}
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title><link rel="stylesheet" href="{base}site.css"><link rel="stylesheet" href="{base}styles.css"></head>
<body><header><a class="brand" href="{base}index.html">{site}</a>{navbar}</header>
<div class="layout"><nav class="sidebar">{sidebar}</nav>
<main><h1 class="title">{title}</h1>{desc}{body}{pager}</main><nav class="toc">{toc}</nav></div></body></html>
"""

def build(out:Path=ROOT/'_docs', proc:bool=True, quiet:bool=False) -> dict:
    "Process the notebooks and write the static site into `out`; return {'pages': [...], 'warnings': [...], 'seconds': s}."
    t0, warn = time.time(), []
    sys.path.insert(0, str(ROOT))
    from nbdev.config import get_config
    cfg = get_config()
    proc_dir = cfg.config_path/'_proc'
    if proc: warn += process_notebooks(proc_dir, quiet=quiet)
    elif (proc_dir/'.ftbook_proc_notes.json').exists(): warn += json.loads((proc_dir/'.ftbook_proc_notes.json').read_text()).values()
    srcs = sorted(p.relative_to(NBS).as_posix() for p in NBS.rglob('*.ipynb')
                  if not any(s.startswith(('_', '.')) for s in p.relative_to(NBS).parts))
    pages = {}
    for s in srcs:
        pnb = proc_dir/s
        if not pnb.exists():
            if not any(s in w for w in warn): warn.append(f"{s} was not processed (missing from {proc_dir}): left out")
            continue
        nb = json.loads(pnb.read_text()); fm = frontmatter(nb)
        pages[html_name(s)] = dict(src=s, nb=nb, title=str(fm.get('title', Path(s).stem)), desc=str(fm.get('description', '')))
    sidebar_yml = yaml.safe_load((NBS/'sidebar.yml').read_text()) if (NBS/'sidebar.yml').exists() else {}
    items = (sidebar_yml.get('website', {}).get('sidebar', {}) or {}).get('contents', []) or [pages[k]['src'] for k in pages]
    nav = nav_entries(items, pages, warn)
    order = [h for _, es in nav for _, h in es]
    for k in pages:
        if k not in order: warn.append(f"{pages[k]['src']} is not in sidebar.yml: built, but not in the navigation")
    quarto = yaml.safe_load((NBS/'_quarto.yml').read_text()) if (NBS/'_quarto.yml').exists() else {}
    navbar_items = [(i.get('text', ''), html_name(i['href']) if i['href'].endswith('.ipynb') else i['href'])
                    for i in (quarto.get('website', {}).get('navbar', {}) or {}).get('left', []) or []]
    for text, h in navbar_items:
        if h not in pages: warn.append(f"_quarto.yml navbar links {h!r}, which has no page (yet): left out")
    navbar_items = [(t, h) for t, h in navbar_items if h in pages]
    site = cfg.get('title', cfg.lib_name)
    doc_prefix = (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/') + '/'
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    (out/'site.css').write_text(CSS + FMT.get_style_defs('.highlight'))
    for pat in ['styles.css', '*.png', '*.svg', '*.jpg', 'tutorials/*.png', 'api/*.png']:
        for f in NBS.glob(pat): (out/f.relative_to(NBS)).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, out/f.relative_to(NBS))
    if not (out/'styles.css').exists(): (out/'styles.css').write_text('')
    for p in pages.values():
        p['body'] = ''.join(render_cell(c) for c in p['nb']['cells'] if c['cell_type'] != 'raw')
        p['ids'] = set(re.findall(r'\sid="([^"]+)"', p['body']))
    for page, p in pages.items():
        base = '../' * page.count('/')
        body = fix_links(p['body'], page, pages, doc_prefix)
        toc = ''.join(f'<li style="margin-left:{(int(l) - 2) * .8}rem"><a href="#{i}">{re.sub(r"<[^>]+>", "", t)}</a></li>'
                      for l, i, t in re.findall(r'<h([23]) id="([^"]*)">(.*?)<a class="anchor-link"', body, flags=re.S))
        sb = ''.join((f'<div class="section">{html.escape(sec)}</div>' if sec else '') + '<ul>' + ''.join(
            f'<li><a href="{base}{h}"{" class=active" if h == page else ""}>{html.escape(t)}</a></li>' for t, h in es) + '</ul>'
            for sec, es in nav)
        i = order.index(page) if page in order else None
        prev = f'<a href="{base}{order[i-1]}">← {html.escape(pages[order[i-1]]["title"])}</a>' if i else '<span></span>'
        nxt = f'<a href="{base}{order[i+1]}">{html.escape(pages[order[i+1]]["title"])} →</a>' if i is not None and i + 1 < len(order) else ''
        dest = out/page; dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(PAGE.format(title=html.escape(p['title']), site=html.escape(site), base=base,
            navbar=''.join(f'<a href="{base}{h}">{html.escape(t)}</a>' for t, h in navbar_items), sidebar=sb,
            desc=f'<div class="description">{html.escape(p["desc"])}</div>' if p['desc'] else '', body=body,
            pager=f'<div class="pager">{prev}{nxt}</div>', toc=f'<div><b>On this page</b></div><ul>{toc}</ul>' if toc else ''))
    res = dict(pages=sorted(pages), warnings=warn, seconds=time.time() - t0, out=str(out))
    if not quiet:
        for w in warn: print('warning:', w)
        print(f"wrote {len(pages)} pages to {out} in {res['seconds']:.0f}s; open {out/'index.html'}")
    return res

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT/'_docs'), help='output folder (default _docs/)')
    ap.add_argument('--no-proc', action='store_true', help='reuse the processed notebooks in _proc/')
    ap.add_argument('--strict', action='store_true', help="exit 1 when a notebook would make Quarto's nbdev_docs fail")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_docs  # run from the importable module, so worker processes can unpickle its functions
    res = build_docs.build(Path(a.out), proc=not a.no_proc)
    sys.exit(1 if a.strict and any(w.startswith('nbdev_docs would fail') for w in res['warnings']) else 0)
