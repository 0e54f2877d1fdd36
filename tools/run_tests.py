#!/usr/bin/env python3
"""ftbook's test run: hygiene checks, then every notebook through `nbdev_test`, then one summary line.

    python tools/run_tests.py                 # default run (skips cells flagged slow/browser)
    python tools/run_tests.py --flags slow    # also run the slow cells
    python tools/run_tests.py --only 01_data  # notebooks whose path contains this text
    python tools/run_tests.py --plain-env     # also install ftbook without extras in a fresh venv and import it (CI)

Each check and each notebook counts as one test. The last line is `N passed, M failed`.
"""
import argparse, ast, configparser, hashlib, importlib.metadata, io, json, os, re, shlex, shutil, subprocess, sys
import tempfile, time, tokenize
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

MAX_NB_BYTES, MAX_API_NB_BYTES, MAX_LINE = 1_000_000, 300_000, 120

def check_sizes():
    big = [f"{p.relative_to(ROOT)} ({p.stat().st_size/1e6:.2f} MB)" for p in sorted(ROOT.glob('nbs/**/*.ipynb'))
           if p.stat().st_size > MAX_NB_BYTES]
    return (not big), ("notebooks over 1 MB (save lighter outputs: smaller figures, dpi <= 80, no big tables): "
                       + ', '.join(big)) if big else ''

def check_api_sizes():
    big = [f"{p.relative_to(ROOT)} ({p.stat().st_size/1e3:.0f} KB)" for p in sorted(ROOT.glob('nbs/api/**/*.ipynb'))
           if p.stat().st_size > MAX_API_NB_BYTES]
    return (not big), ("library notebooks over 300 KB (keep only the outputs that teach; move long runs to a tutorial): "
                       + ', '.join(big)) if big else ''

def library_modules():
    return [p for p in sorted((ROOT/'ftbook').glob('*.py')) if p.name != '_modidx.py']

def long_lines(path, limit=MAX_LINE):
    "(line number, length) of each line longer than `limit`, except nbdev's generated `__all__` list."
    text = path.read_text(); generated = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in node.targets):
            generated |= set(range(node.lineno, node.end_lineno + 1))
    return [(i, len(l)) for i, l in enumerate(text.splitlines(), 1) if len(l) > limit and i not in generated]

def check_line_length():
    bad = [f"{p.relative_to(ROOT)}:{i} ({n} chars)" for p in library_modules() for i, n in long_lines(p)]
    if not bad: return True, ''
    more = f"\n      ... and {len(bad) - 40} more" if len(bad) > 40 else ''
    return False, (f"{len(bad)} lines over {MAX_LINE} characters in ftbook/ (wrap them in the notebooks, then "
                   "nbdev_export):\n      " + '\n      '.join(bad[:40]) + more)

def cut_docments(path):
    """Lines of `path` that continue a parameter's or a field's trailing comment on a comment-only line below it.

    fastcore's `docments` (behind `show_doc`'s tables and the CLI's `--help`) reads only the comment on the
    parameter's own line, so such a continuation is silently dropped from the docs and the help."""
    text = path.read_text(); documented = set()       # lines of def signatures and of class-level annotated fields
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            documented |= set(range(node.lineno, node.body[0].lineno))
        elif isinstance(node, ast.ClassDef):
            documented |= {n.lineno for n in node.body if isinstance(n, ast.AnnAssign)}
    code, comments = set(), {}
    for t in tokenize.generate_tokens(io.StringIO(text).readline):
        if t.type == tokenize.COMMENT: comments[t.start[0]] = t.start[1]
        elif t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            code.add(t.start[0])
    return [i for i in sorted(comments) if i not in code and i - 1 in documented and i - 1 in code
            and comments.get(i - 1) == comments[i]]

def check_docments():
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in library_modules() for i in cut_docments(p)]
    return (not bad), ("parameter comments continued on the next line (the docs and --help show only the first line; "
                       "fit each on its own line, in the notebooks): " + ', '.join(bad)) if bad else ''

IMPORT_TO_DIST = {'PIL': 'pillow', 'sklearn': 'scikit-learn', 'skimage': 'scikit-image', 'yaml': 'pyyaml',
                  'cv2': 'opencv-python', 'multipart': 'python-multipart', 'python_multipart': 'python-multipart'}

def norm(name): return re.sub(r'[-_.]+', '-', name).lower()

def settings():
    cp = configparser.ConfigParser(delimiters=['=']); cp.read(ROOT/'settings.ini', encoding='utf-8'); return cp['DEFAULT']

def requirement_names(key='requirements'):
    return {norm(re.match(r'[A-Za-z0-9][A-Za-z0-9._-]*', r).group()) for r in shlex.split(settings().get(key, ''))}

def _catches_import_error(handler):
    t = handler.type
    names = [t] if not isinstance(t, ast.Tuple) else t.elts
    return t is None or any(getattr(n, 'id', None) in ('ImportError', 'ModuleNotFoundError', 'Exception', 'BaseException')
                            for n in names)

def module_level_imports(path):
    "(line, top-level name) of the imports that run when `path` is imported (not in functions, not optional ones)."
    found = []
    def visit(node, optional):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)): return
        if isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.unparse(node.test): return
        if isinstance(node, ast.Import) and not optional:
            found.extend((node.lineno, a.name.split('.')[0]) for a in node.names)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and not optional:
            found.append((node.lineno, node.module.split('.')[0]))
        if isinstance(node, ast.Try):
            guarded = any(_catches_import_error(h) for h in node.handlers)
            for child in node.body: visit(child, optional or guarded)
            for child in node.handlers + node.orelse + node.finalbody: visit(child, optional)
            return
        for child in ast.iter_child_nodes(node): visit(child, optional)
    visit(ast.parse(path.read_text()), False)
    return found

def check_runtime_imports():
    reqs, dists = requirement_names(), importlib.metadata.packages_distributions()
    skip = set(sys.stdlib_module_names) | {'ftbook', '__future__'}
    bad = []
    for p in library_modules():
        for line, name in module_level_imports(p):
            if name in skip: continue
            candidates = {norm(d) for d in dists.get(name, [])} | {norm(IMPORT_TO_DIST.get(name, name))}
            if not candidates & reqs:
                bad.append(f"{p.relative_to(ROOT)}:{line} imports {name} ({', '.join(sorted(candidates))}) at module level,"
                           " "
                           "but settings.ini `requirements` lacks it: add it there, or import it where it is needed "
                           "(inside a function, or in try/except ImportError with a `pip install` hint)")
    return (not bad), '\n      '.join(bad)

def _import_cell_problem(src:str) -> bool:
    "Whether nbdev_docs would run this code cell for its imports (as nbdev does) while it also holds other code."
    if re.search(r'^\s*#\|\s*(export|exports|exporti|exec_doc)\b', src, re.M) or 'nbdev_export()' in src: return False
    if re.search(r'^\s*#\|\s*eval:\s*false', src, re.M | re.I): return False
    try: tree = ast.parse('\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in src.splitlines()))
    except SyntaxError: return False
    is_imp = lambda n: isinstance(n, (ast.Import, ast.ImportFrom))
    only_imports = all(is_imp(n) or isinstance(n, ast.Try) and all(map(is_imp, n.body)) for n in tree.body)
    return any(map(is_imp, ast.walk(tree))) and not only_imports

def check_import_cells():
    "nbdev_docs runs every cell with an import in it to render show_doc: such a cell must hold imports only."
    bad = [f"{p.relative_to(ROOT)} cell {i}" for p in sorted(ROOT.glob('nbs/**/*.ipynb'))
           for i, c in enumerate(json.loads(p.read_text())['cells'])
           if c['cell_type'] == 'code' and _import_cell_problem(''.join(c['source']))]
    return (not bad), ("cells that mix imports with other code (nbdev_docs runs them on their own and fails; put the "
                       "imports in a cell of their own): " + ', '.join(bad)) if bad else ''

def check_readme():
    r = run([sys.executable, str(ROOT/'tools'/'readme.py'), '--check'])
    if r.returncode == 0: return True, ''
    run([sys.executable, str(ROOT/'tools'/'readme.py')])
    return False, 'README.md was out of date with nbs/index.ipynb (now rewritten by tools/readme.py, commit it)'

BENCH_SCRIPT = r"""
import contextlib, importlib, io, pathlib, sys
bad = []
for p in sorted(pathlib.Path('.').glob('*.py')):
    try:
        m, sys.argv = importlib.import_module(p.stem), [p.name, '--help']
        with contextlib.redirect_stdout(io.StringIO()): m.main()
        bad.append(f"{p.name}: main() ran past --help")
    except SystemExit as e:
        if e.code not in (0, None): bad.append(f"{p.name}: --help exited with {e.code}")
    except Exception as e: bad.append(f"{p.name}: {type(e).__name__}: {e}")
print('\n'.join(bad))
"""

def check_bench():
    "Every benchmark script imports what it uses from ftbook and parses its arguments (`--help`); none is run."
    r = subprocess.run([sys.executable, '-c', BENCH_SCRIPT], cwd=ROOT/'bench', capture_output=True, text=True,
                       timeout=300)
    bad = r.stdout.strip() or (r.stderr[-2000:] if r.returncode else '')
    return (not bad), ("benchmark scripts that no longer run against the library (fix them with the API change):\n"
                       "      " + bad.replace('\n', '\n      ')) if bad else ''

PLAIN_SCRIPT = r"""
import importlib, json, os, pkgutil, subprocess, sys, tempfile, traceback
from pathlib import Path
out = {}
import ftbook
out['ftbook_file'] = ftbook.__file__
mods = sorted(m.name for m in pkgutil.iter_modules(ftbook.__path__) if not m.name.startswith('_'))
out['modules'], out['import_errors'] = mods, {}
for m in mods:
    try: importlib.import_module('ftbook.' + m)
    except Exception as e: out['import_errors'][m] = f"{type(e).__name__}: {e}"
def message(f):
    try: f(); return None
    except Exception as e: return f"{type(e).__name__}: {e}"
import timm, torch
from ftbook.export import export_bundle, export_onnx
tmp = Path(tempfile.mkdtemp())
model = timm.create_model('test_efficientnet', num_classes=2).eval()
bundle = export_bundle(model, tmp/'bundle', classes=['a', 'b'], size=32, mean=(0.5,)*3, std=(0.25,)*3)
bin_dir = Path(sys.executable).parent
r = subprocess.run([str(bin_dir/'ftbook-serve'), str(bundle), '--port', '0'], capture_output=True, text=True, timeout=120)
out['ftbook-serve'] = dict(code=r.returncode, stderr=r.stderr)
from ftbook.features import extract_features
def onnx_features():          # onnx, onnxscript, onnxruntime are runtime requirements: the probe's features run there
    export_onnx(model, tmp/'m.onnx', size=32)
    batch = [(torch.randn(3, 3, 32, 32), torch.zeros(3))]
    ref = extract_features(model, batch, 'cpu', 'fp32', backend='torch')[0]
    got = extract_features(model, batch, 'cpu', backend='onnxruntime')[0]
    assert torch.allclose(got, ref, atol=1e-4), (got - ref).abs().max()
out['onnxruntime features'] = message(onnx_features)
from ftbook.tracking import MLflowCallback
out['MLflowCallback'] = message(lambda: MLflowCallback())
import numpy as np
from PIL import Image
for c in 'ab':
    (tmp/'data'/c).mkdir(parents=True)
    for i in range(8): Image.fromarray(np.full((16, 16, 3), 40 + 150 * (c == 'b') + i, np.uint8)).save(tmp/'data'/c/f'{i}.png')
r = subprocess.run([str(bin_dir/'ftbook-finetune'), '--data', str(tmp/'data'), '--out', str(tmp/'run'), '--model',
                    'test_efficientnet', '--pretrained', 'none', '--epochs', '1', '--size', '32', '--quiet',
                    '--strategy', 'finetune', '--mlflow'],
                   capture_output=True, text=True, timeout=300)
out['ftbook-finetune --mlflow'] = dict(code=r.returncode, stderr=r.stderr[-3000:])
r = subprocess.run([str(bin_dir/'ftbook-predict'), str(bundle), str(tmp/'data'), '--out', str(tmp/'p.csv')],
                   capture_output=True, text=True, timeout=300)       # needs no extra
rows = len((tmp/'p.csv').read_text().splitlines()) - 1 if (tmp/'p.csv').exists() else None
out['ftbook-predict'] = dict(code=r.returncode, stderr=r.stderr[-3000:], rows=rows)
print('PLAIN-RESULT ' + json.dumps(out))
"""

CLEANUPS = []  # background removals, waited for before the summary line

def torch_pins():
    m = re.search(r'^TORCH_PINS="([^"]+)"', (ROOT/'tools'/'setup.sh').read_text(), re.M)
    return m.group(1).split() if m else ['torch', 'torchvision']

def check_plain_env():
    "A fresh venv with the torch pins and `pip install .` (no extras): every module imports; missing extras say what to install."
    t0, work = time.time(), Path(tempfile.mkdtemp(prefix='ftbook_plain_'))
    try:
        src, venv = work/'src', work/'venv'
        src.mkdir()
        for f in ('setup.py', 'settings.ini', 'README.md', 'LICENSE', 'MANIFEST.in', 'pyproject.toml'):
            if (ROOT/f).exists(): shutil.copy(ROOT/f, src/f)
        shutil.copytree(ROOT/'ftbook', src/'ftbook', ignore=shutil.ignore_patterns('__pycache__'))
        env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV', 'PYTHONHOME')}
        env.update(MPLBACKEND='Agg', HF_HUB_OFFLINE='1', PIP_DISABLE_PIP_VERSION_CHECK='1')
        base = getattr(sys, '_base_executable', sys.executable)
        py = venv/'bin'/'python'
        for step in ([base, '-m', 'venv', str(venv)], [str(py), '-m', 'pip', 'install', '-q', '--no-compile', *torch_pins()],
                     [str(py), '-m', 'pip', 'install', '-q', '--no-compile', str(src)]):
            r = subprocess.run(step, cwd=work, env=env, capture_output=True, text=True, timeout=1800)
            if r.returncode: return False, f"'{' '.join(step)}' failed: {(r.stdout + r.stderr)[-1500:]}"
        t_install = time.time() - t0
        leaked = subprocess.run([str(py), '-m', 'pip', 'list', '--format=json'], capture_output=True, text=True, env=env)
        installed = {norm(d['name']) for d in json.loads(leaked.stdout)}
        r = subprocess.run([str(py), '-c', PLAIN_SCRIPT], cwd=work, env=env, capture_output=True, text=True, timeout=900)
        line = next((l for l in r.stdout.splitlines() if l.startswith('PLAIN-RESULT ')), None)
        if line is None: return False, f"the import script failed: {(r.stdout + r.stderr)[-2000:]}"
        res, problems = json.loads(line[len('PLAIN-RESULT '):]), []
        if str(work) not in res['ftbook_file']: problems.append(f"ftbook was imported from {res['ftbook_file']}, not the plain install")
        want = sorted(p.stem for p in library_modules() if not p.stem.startswith('_'))
        if res['modules'] != want: problems.append(f"the installed package has modules {res['modules']}, the repo {want}")
        problems += [f"import ftbook.{m} fails: {e}" for m, e in res['import_errors'].items()]
        extras = set().union(*(requirement_names(k) for k in settings() if k.endswith('_requirements')
                               and k not in ('requirements', 'dev_requirements'))) - requirement_names()
        if extras & installed:
            problems.append(f"the plain install has optional extras {sorted(extras & installed)}: a runtime requirement pulls "
                            "them in, so the checks of their `pip install` hints prove nothing")
        one_line = lambda text: text.count('\n') <= 1 and 'Traceback' not in text
        for name in ('ftbook-serve', 'ftbook-finetune --mlflow'):
            c = res[name]
            if c['code'] != 2 or 'pip install' not in c['stderr'] or not one_line(c['stderr'].strip()):
                problems.append(f"{name} without its extra should exit 2 with one line naming the `pip install` to run; "
                                f"it exited {c['code']}: {c['stderr'].strip()[-300:]!r}")
        fp = res['ftbook-predict']
        if fp['code'] != 0 or fp['rows'] != 16:
            problems.append(f"ftbook-predict in the plain install should write 16 rows and exit 0; it exited {fp['code']} "
                            f"with {fp['rows']} rows: {fp['stderr'].strip()[-300:]!r}")
        if res['onnxruntime features']:
            problems.append(f"the plain install cannot compute features with onnxruntime: {res['onnxruntime features']}")
        for name in ('MLflowCallback',):
            m = res[name]
            if not m or not m.startswith('ImportError') or 'pip install' not in m:
                problems.append(f"{name} without its extra should raise an ImportError naming the `pip install` to run; got {m!r}")
        summary = (f"fresh venv with {len(installed)} distributions, no extra ({', '.join(sorted(extras))}); "
                   f"{len(res['modules'])} modules; install {t_install:.0f}s, checks {time.time() - t0 - t_install:.0f}s")
        hints = [f"{k}: {v['stderr'].strip() if isinstance(v, dict) else v}"
                 for k, v in res.items() if k in ('ftbook-serve', 'ftbook-finetune --mlflow', 'onnxruntime features',
                                                  'MLflowCallback')]
        return (not problems), '\n      '.join([summary] + problems + ([] if problems else hints))
    finally: CLEANUPS.append(subprocess.Popen(['rm', '-rf', str(work)]))   # 5 GB of venv: removed while the notebooks run

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
    ap.add_argument('--no-checks', action='store_true', help='skip the hygiene checks')
    ap.add_argument('--plain-env', action='store_true',
                    help='also install ftbook without extras in a fresh venv and import every module (minutes; CI does)')
    a = ap.parse_args()
    results, t0 = [], time.time()
    checks = [] if a.no_checks else [
        ('notebooks are clean (nbdev_clean)', check_clean), ('ftbook/ matches nbs/ (nbdev_export)', check_export),
        ('no notebook over 1 MB', check_sizes), ('no library notebook (nbs/api/) over 300 KB', check_api_sizes),
        (f'no line over {MAX_LINE} characters in ftbook/*.py', check_line_length),
        ('parameter comments fit on their own line (docs and --help read only that line)', check_docments),
        ('module-level imports are runtime requirements', check_runtime_imports),
        ('README.md matches nbs/index.ipynb', check_readme),
        ('cells with imports hold only imports (nbdev_docs runs them alone)', check_import_cells),
        ('benchmark scripts (bench/) import and parse their arguments', check_bench)]
    if a.plain_env: checks.append(('plain install (no extras) imports every module', check_plain_env))
    for name, fn in checks:
        t = time.time()
        try: ok, msg = fn()
        except Exception as e: ok, msg = False, f"the check itself failed: {type(e).__name__}: {e}"
        results.append((name, ok))
        print(f"{'PASS' if ok else 'FAIL'}  {name}  ({time.time() - t:.0f}s)" + (f"\n      {msg}" if msg else ''), flush=True)
    nbs = notebooks(a.only)
    nbs.sort(key=lambda p: 'browser' not in p.name)  # the longest (browser) notebook first, so the two workers finish together
    with ThreadPoolExecutor(a.workers) as ex:
        for nb, ok, secs, out in ex.map(lambda nb: test_notebook(nb, a.flags, a.timeout), nbs):
            name = str(nb.relative_to(ROOT)); results.append((name, ok))
            print(f"{'PASS' if ok else 'FAIL'}  {name}  ({secs:.0f}s)", flush=True)
            if not ok: print('\n'.join('      ' + l for l in out.strip().splitlines()[-40:]), flush=True)
    for proc in CLEANUPS: proc.wait()
    n_ok = sum(ok for _, ok in results); n_bad = len(results) - n_ok
    print(f"\nnotebooks tested: {len(nbs)} (flags: {a.flags or 'none'}), total {time.time()-t0:.0f}s")
    print(f"{n_ok} passed, {n_bad} failed")
    sys.exit(1 if n_bad or not nbs else 0)

if __name__ == '__main__': main()
