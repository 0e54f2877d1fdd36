#!/usr/bin/env python3
"""Author notebooks as text without losing their outputs (jupytext pairing), and run them to save outputs.

    python tools/nb.py py  nbs/api/01_data.ipynb     # notebook -> .nbsrc/api/01_data.py (percent script, git-ignored)
    python tools/nb.py nb  nbs/api/01_data.ipynb     # .nbsrc/api/01_data.py -> notebook; unchanged cells keep outputs
    python tools/nb.py run nbs/api/01_data.ipynb     # execute in place, save the outputs, then nbdev_clean it
    python tools/nb.py run --flags slow nbs/api/02_models.ipynb   # also run (and save) the cells flagged slow

Each command takes one or more notebooks (or their .nbsrc scripts; `nbs/` and `.nbsrc/` mirror each other).
`py` and `nb` are `jupytext --to py:percent` and `jupytext --update --to ipynb`: `--update` keeps the outputs and
cell ids of every cell whose source did not change. `run` executes the notebook in this process with execnb (as
`nbdev_test` does, without a Jupyter kernel, but with every core as a kernel has them, where the test suite runs two
notebooks at a time on one thread each; set OMP_NUM_THREADS to choose): cells flagged with one of settings.ini's
`tst_flags` (slow, browser, notest) or `#|eval: false` are skipped and keep the outputs they had; the last
`nbdev_export()` cell never runs. Figures are saved as PNG (not retina). Widget views are dropped from saved outputs
(a saved notebook has no widget state, so they could not render); a widget's static HTML or PNG rendering stays.
"""
import argparse, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS, SRC = ROOT/'nbs', ROOT/'.nbsrc'
BIN = Path(sys.executable).parent
WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'

def paths(arg:str) -> tuple[Path, Path]:
    "(notebook, script) for a notebook path, a script path, or a bare name under nbs/."
    p = Path(arg).resolve()
    if p.suffix == '.py' and SRC in p.parents: return NBS/p.relative_to(SRC).with_suffix('.ipynb'), p
    if p.suffix != '.ipynb': p = p.with_suffix('.ipynb')
    if NBS not in p.parents: raise SystemExit(f"{arg}: not a notebook under nbs/ or a script under .nbsrc/")
    return p, SRC/p.relative_to(NBS).with_suffix('.py')

def jupytext(*args):
    r = subprocess.run([str(BIN/'jupytext'), '--quiet', *map(str, args)], capture_output=True, text=True)
    if r.returncode: raise SystemExit(r.stderr or r.stdout)

def to_py(nb:Path, src:Path):
    src.parent.mkdir(parents=True, exist_ok=True)
    jupytext('--to', 'py:percent', '-o', src, nb); print(f"{nb.relative_to(ROOT)} -> {src.relative_to(ROOT)}")

def to_nb(nb:Path, src:Path):
    if not src.exists(): raise SystemExit(f"{src} does not exist: create it with `python tools/nb.py py {nb}`")
    nb.parent.mkdir(parents=True, exist_ok=True)
    jupytext(*(['--update'] if nb.exists() else []), '--to', 'ipynb', '-o', nb, src)
    subprocess.run([str(BIN/'nbdev_clean'), '--fname', str(nb)], check=True)
    print(f"{src.relative_to(ROOT)} -> {nb.relative_to(ROOT)}")

def run(nb_path:Path, flags:list[str]):
    "Execute `nb_path` in this process as nbdev_test does, then write it back with its outputs."
    os.environ.setdefault('HF_HUB_OFFLINE', '1')     # threads: PyTorch's default (every core), as in a kernel
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.process import extract_directives
    skip = set(get_config().tst_flags.split()) - set(flags)
    nb = read_nb(nb_path)
    def no_eval(cell):
        if cell.cell_type != 'code' or 'nbdev_export' + '(' in cell.source: return True
        d = extract_directives(cell, remove=False)
        if d.get('eval:', [''])[0].lower() == 'false' or skip & d.keys(): return True
        cell.outputs, cell.execution_count = [], None   # execnb leaves old outputs on a cell that prints nothing
        return False
    shell = CaptureShell(nb_path, mpl_format='png')
    try:
        with working_directory(nb_path.parent): shell.run_all(nb, exc_stop=True, preproc=no_eval)
    except Exception:
        sys.stderr.write(shell.prettytb(fname=nb_path) + '\n'); raise SystemExit(1)
    for cell in nb.cells:   # a saved notebook has no widget state: keep a widget's static rendering, if it has one
        for o in cell.get('outputs', []):
            if WIDGET_MIME in o.get('data', {}): o['data'].pop(WIDGET_MIME)
        cell.outputs = [o for o in cell.get('outputs', []) if 'data' not in o or
                        any(k != 'text/plain' or ''.join(v).strip() for k, v in o['data'].items())]
    write_nb(nb, nb_path)
    subprocess.run([str(BIN/'nbdev_clean'), '--fname', str(nb_path)], check=True)
    print(f"ran {nb_path.relative_to(ROOT)}: {nb_path.stat().st_size / 1e3:.0f} KB")

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('cmd', choices=['py', 'nb', 'run', 'run1'])
    ap.add_argument('files', nargs='+', help='notebooks under nbs/ or scripts under .nbsrc/')
    ap.add_argument('--flags', default='', help='run: also run cells with these flags (e.g. "slow")')
    a = ap.parse_args()
    for f in a.files:
        nb, src = paths(f)
        if a.cmd == 'py': to_py(nb, src)
        elif a.cmd == 'nb': to_nb(nb, src)
        elif a.cmd == 'run1': run(nb, a.flags.split())
        else:   # one process per notebook: notebooks change global state (grad mode, threads, rcParams)
            r = subprocess.run([sys.executable, __file__, 'run1', '--flags', a.flags, str(nb)])
            if r.returncode: raise SystemExit(f"{nb.relative_to(ROOT)} failed (see above); it was not rewritten")

if __name__ == '__main__': main()
