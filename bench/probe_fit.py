#!/usr/bin/env python
"""The probe's logistic fits: scikit-learn's L-BFGS (before) against ftbook's PyTorch L-BFGS (now), paired on seeds.

The default `lp` recipe fits 19 logistic regressions (3 view sets × 3 Cs × 2 folds, then the chosen one on every
training image) on up to 33,600 rows × 1,792 columns of elpv features. `ftbook.probe.fit_logistic` used to call
scikit-learn's `LogisticRegression(tol=1e-3)` on a float64 copy; it now solves the same objective with
`torch.optim.LBFGS` (float32 products, the loss summed in float64) to the same tolerance (`PROBE_TOL`).
This extracts the default's features of every elpv image once (`lp_ablation.features`; `--cache FILE` keeps them
for the next call), then for every seed makes the split of `ftbook-finetune --seed S` and runs the default's
`fit_probe` twice, with the old fit (reproduced here: `sklearn_fit`) and with the new one, timing both and scoring
both on the held-out images. Prints one line per run, the mean ± std over seeds and the paired differences
new − old (points), and the time ratio. Times are seconds of the whole selection and final fit, on this machine.

    python bench/probe_fit.py --seeds 96 97 98 99 100 101 --cache /tmp/elpv_feats.pt
"""
import argparse, time, warnings
import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
import ftbook.probe as probe
from ftbook.core import get_device
from ftbook.data import stratified_split
from ftbook.metrics import accuracy, macro_f1
from lp_ablation import VIEWS, default_features, print_summary
from lp_candidates import report_paired

def sklearn_fit(feats, targets, C=0.03, n_classes=None, max_iter=500, tol=1e-3):
    "`fit_logistic` as it was: scikit-learn's lbfgs at tol 1e-3 on a standardised float64 copy."
    X = torch.as_tensor(feats).to(torch.float64); y = np.asarray(targets)
    if X.ndim == 3: y = np.repeat(y, X.shape[1]); X = X.reshape(-1, X.shape[-1])
    k = int(n_classes or y.max() + 1)
    mu, sd = X.mean(0), X.std(0).clamp_min(1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        clf = LogisticRegression(C=C, max_iter=max_iter, tol=tol).fit(X.sub_(mu).div_(sd).numpy(), y)
    W = torch.zeros(k, X.shape[1], dtype=torch.float64); b = torch.full((k,), -1e4, dtype=torch.float64)
    coef, icpt = torch.from_numpy(clf.coef_), torch.from_numpy(clf.intercept_)
    if len(clf.classes_) == 2: coef, icpt = torch.cat([-coef / 2, coef / 2]), torch.cat([-icpt / 2, icpt / 2])
    W[clf.classes_] = coef / sd; b[clf.classes_] = icpt - (coef / sd) @ mu
    return W.float(), b.float()

FITS = {'sklearn (before)': sklearn_fit, 'torch (now)': probe.fit_logistic}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[96, 97, 98])
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--cache', default=None, help='a file for the features (read when it exists, else written)')
    p.add_argument('--out', default=None)
    a = p.parse_args()
    f, y, secs = default_features(get_device(None), a.cache)
    print(f"features of {len(y)} images x {f.shape[1]} views in {secs:.0f}s (0: read from {a.cache})", flush=True)
    k, rows = int(y.max()) + 1, []
    for seed in a.seeds:
        tr, va = stratified_split(y.numpy(), a.valid_pct, seed)
        for name, fit in FITS.items():
            probe.fit_logistic = fit                     # what select_probe, oof_logits and fit_probe call
            t0 = time.perf_counter()
            r = probe.fit_probe(f[tr], y[tr], VIEWS, probe.PROBE_TTA, n_classes=k, seed=seed)
            secs = time.perf_counter() - t0
            pr = probe.view_probs(f[va][:, r['views']], r['weight'], r['bias'])
            rows.append(dict(candidate=name, seed=seed, accuracy=accuracy(pr, y[va]), macro_f1=macro_f1(pr, y[va]),
                             tta=r['tta'], C=r['C'], tau=r['tau'], seconds=secs))
            print(f"{name:<18} seed {seed}: accuracy {rows[-1]['accuracy']:.3f}  macro-F1 {rows[-1]['macro_f1']:.3f}  "
                  f"(CV chose tta={r['tta']}, C={r['C']}, tau={r['tau']}; fits {secs:.1f}s)", flush=True)
        probe.fit_logistic = FITS['torch (now)']
    runs = pd.DataFrame(rows)
    print_summary(runs, 'candidate', f"mean ± std over seeds {a.seeds} ({a.valid_pct:.0%} stratified hold-out):")
    t = runs.groupby('candidate', sort=False)['seconds'].median()
    print("\nfit seconds, median over seeds: " + ', '.join(f"{n} {s:.1f}" for n, s in t.items())
          + f"; ratio {t.iloc[0] / t.iloc[1]:.2f}x ({torch.get_num_threads()} threads)")
    report_paired(runs.replace({'torch (now)': 'new', 'sklearn (before)': 'default'}), ['default', 'new'],
                  a.seeds, a.out)

if __name__ == '__main__': main()
