#!/usr/bin/env python3
"""ftbook's test run: hygiene checks, then every notebook through `nbdev_test`, then one summary line.

    python tools/run_tests.py                 # default run (skips cells flagged slow/browser)
    python tools/run_tests.py --flags slow    # also run the slow cells
    python tools/run_tests.py --only 01_data  # notebooks whose path contains this text

Each check and each notebook counts as one test. The last line is `N passed, M failed`.
"""
import argparse, hashlib, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def snapshot(pattern):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(ROOT.glob(pattern))}

def changed(before, after): return sorted(str(p.relative_to(ROOT)) for p in set(before) | set(after) if before.get(p) != after.get(p))

def run(cmd, timeout=600, env=None):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)

def check_clean():
    before = snapshot('nbs/**/*.ipynb'); r = run([str(BIN/'nbdev_clean')])
    diff = changed(before, snapshot('nbs/**/*.ipynb'))
    if r.returncode: return False, r.stderr[-2000:]
    return (not diff), ("nbdev_clean changed (now cleaned, commit them): " + ', '.join(diff)) if diff else ''

def check_export():
    before = snapshot('ftbook/**/*.py'); r = run([str(BIN/'nbdev_export')])
    diff = changed(before, snapshot('ftbook/**/*.py'))
    if r.returncode: return False, r.stderr[-2000:]
    return (not diff), ("ftbook/ was out of sync with nbs/ (now exported, commit): " + ', '.join(diff)) if diff else ''

def check_sizes():
    big = [f"{p.relative_to(ROOT)} ({p.stat().st_size/1e6:.1f} MB)" for p in ROOT.glob('nbs/**/*.ipynb') if p.stat().st_size > 1_000_000]
    return (not big), ("notebooks over 1 MB: " + ', '.join(big)) if big else ''

def check_readme():
    r = run([sys.executable, str(ROOT/'tools'/'readme.py'), '--check'])
    if r.returncode == 0: return True, ''
    run([sys.executable, str(ROOT/'tools'/'readme.py')])
    return False, 'README.md was out of date with nbs/index.ipynb (now rewritten by tools/readme.py, commit it)'

def notebooks(only):
    nbs = [p for p in sorted(ROOT.glob('nbs/**/*.ipynb'))
           if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts)]
    return [p for p in nbs if not only or any(o in str(p) for o in only)]

def test_notebook(nb, flags, timeout):
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1'),
           'PYTHONWARNINGS': os.environ.get('PYTHONWARNINGS', 'ignore::DeprecationWarning')}
    cmd = [str(BIN/'nbdev_test'), '--path', str(nb), '--n_workers', '0', '--do_print']
    if flags: cmd += ['--flags', flags]
    t = time.time()
    try: r = run(cmd, timeout=timeout, env=env); ok, out = r.returncode == 0, r.stdout + r.stderr
    except subprocess.TimeoutExpired: ok, out = False, f'timed out after {timeout}s'
    return nb, ok, time.time() - t, out

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--flags', default='', help='extra nbdev test flags to run, e.g. "slow"')
    ap.add_argument('--only', nargs='*', help='only notebooks whose path contains one of these')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--timeout', type=int, default=1500, help='seconds per notebook')
    ap.add_argument('--no-checks', action='store_true', help='skip the clean/export/size checks')
    a = ap.parse_args()
    results, t0 = [], time.time()
    if not a.no_checks:
        for name, fn in [('notebooks are clean (nbdev_clean)', check_clean), ('ftbook/ matches nbs/ (nbdev_export)', check_export),
                         ('no notebook over 1 MB', check_sizes), ('README.md matches nbs/index.ipynb', check_readme)]:
            ok, msg = fn(); results.append((name, ok))
            print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"\n      {msg}" if msg else ''), flush=True)
    nbs = notebooks(a.only)
    nbs.sort(key=lambda p: 'browser' not in p.name)  # the longest (browser) notebook first, so the two workers finish together
    with ThreadPoolExecutor(a.workers) as ex:
        for nb, ok, secs, out in ex.map(lambda nb: test_notebook(nb, a.flags, a.timeout), nbs):
            name = str(nb.relative_to(ROOT)); results.append((name, ok))
            print(f"{'PASS' if ok else 'FAIL'}  {name}  ({secs:.0f}s)", flush=True)
            if not ok: print('\n'.join('      ' + l for l in out.strip().splitlines()[-40:]), flush=True)
    n_ok = sum(ok for _, ok in results); n_bad = len(results) - n_ok
    print(f"\nnotebooks tested: {len(nbs)} (flags: {a.flags or 'none'}), total {time.time()-t0:.0f}s")
    print(f"{n_ok} passed, {n_bad} failed")
    sys.exit(1 if n_bad or not nbs else 0)

if __name__ == '__main__': main()
