#!/usr/bin/env python3
"""Convert between notebooks and jupytext-style "percent" scripts, so notebooks can be authored as text.

    python tools/nbpy.py py2nb src.py nbs/01_data.ipynb   # build a notebook (no outputs) from a script
    python tools/nbpy.py nb2py nbs/01_data.ipynb src.py   # dump a notebook's sources to a script

Cells start with `# %%` (code) or `# %% [markdown]` (markdown, every line commented with `# `).
The notebooks in nbs/ stay the source of truth; scripts are a scratch format for editing.
"""
import hashlib, json, sys
from pathlib import Path

def py2cells(text):
    cells, cur = [], None
    for line in text.splitlines():
        if line.startswith('# %%'):
            if cur: cells.append(cur)
            cur = {'type': 'markdown' if '[markdown]' in line or '[md]' in line else 'code', 'lines': []}
            continue
        if cur is None: cur = {'type': 'code', 'lines': []}
        cur['lines'].append(line)
    if cur: cells.append(cur)
    out, ids = [], set()
    for c in cells:
        lines = c['lines']
        while lines and not lines[-1].strip(): lines.pop()
        while lines and not lines[0].strip(): lines.pop(0)
        if not lines: continue
        if c['type'] == 'markdown':
            lines = [l[2:] if l.startswith('# ') else l[1:] if l.startswith('#') else l for l in lines]
        src = [l + '\n' for l in lines]
        src[-1] = src[-1].rstrip('\n')
        cid = hashlib.sha1(''.join(src).encode()).hexdigest()[:8]  # stable ids: unchanged cells keep theirs
        while cid in ids: cid = hashlib.sha1(cid.encode()).hexdigest()[:8]
        ids.add(cid)
        cell = {'cell_type': c['type'], 'id': cid, 'metadata': {}, 'source': src}
        if c['type'] == 'code': cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return out

def py2nb(src, dst):
    nb = {'cells': py2cells(Path(src).read_text()),
          'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 5}
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Path(dst).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

def nb2py(src, dst):
    nb = json.loads(Path(src).read_text())
    parts = []
    for c in nb['cells']:
        s = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            parts.append('# %% [markdown]\n' + '\n'.join(('# ' + l) if l else '#' for l in s.splitlines()))
        else: parts.append('# %%\n' + s)
    Path(dst).write_text('\n\n'.join(parts) + '\n')

if __name__ == '__main__':
    if len(sys.argv) != 4 or sys.argv[1] not in ('py2nb', 'nb2py'): sys.exit(__doc__)
    {'py2nb': py2nb, 'nb2py': nb2py}[sys.argv[1]](sys.argv[2], sys.argv[3])
