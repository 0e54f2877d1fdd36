#!/usr/bin/env python
"""Candidates for a stronger default `lp` probe on elpv, each paired with the default (a benchmark, not a test).

`bench/lp_ablation.py` asks what each ingredient of the default buys; this asks whether something cheap on top of the
same frozen features would buy more. Features of every elpv image in the 8 dihedral views are extracted once
(`lp_ablation.features`: the default's layer features, centre crop 0.875); for every seed the split of
`ftbook-finetune --seed S` is made, every candidate chooses its settings by cross-validation on that seed's training
images only, and is scored once on the held-out images. Candidates:

- default: the default when this benchmark was written, `lp_ablation`'s 'centre crop only' variant (views from
  ('none', 'hflip', 'dihedral'), C and τ by 3-fold CV on macro-F1); the two-crop candidate below has since become
  the default (`PROBE_TTA`, one pass over the 16 views of 'dihedral2');
- tuned class offsets: the default's views and C, then one additive logit offset per class, chosen on the
  out-of-fold logits to maximise macro-F1 (coordinate ascent from −τ·log prior), instead of the one-parameter τ;
- view-mean rows: one training row per image (the mean of its 8 views' features) instead of one per view;
- MLP head: a non-linear head on the same standardised features (1 hidden layer of 512, GELU, dropout 0.5, input
  dropout 0.2, AdamW, weight decay 0.05, label smoothing 0.1, 20 epochs, one-cycle lr 1e-3), every view a training
  row, τ by 3-fold CV; it asks whether a linear read-out is what limits the probe;
- two crops, 16 views: the 8 views of the centre crop and the 8 views of the whole image (a second extraction with
  `crop_pct=1`), C and τ by CV over all 16 (twice the default's feature pass).

Prints one line per run, a mean ± std table over seeds and the paired differences candidate − default (same seed,
same split) in points; with `--out`, writes runs.csv there.

    python bench/lp_candidates.py --seeds 42 43 44
"""
import argparse, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from torch import nn
from sklearn.model_selection import StratifiedKFold
from ftbook.core import get_device
from ftbook.data import stratified_split
from ftbook.metrics import accuracy, macro_f1
from ftbook.augment import DIHEDRAL_VIEWS, TTA_SETS
from ftbook.probe import (PROBE_CS, PROBE_TAUS, fit_logistic, fit_probe, logit_shift, oof_logits,
                          view_probs)
from ftbook.strategies import paired_differences
from lp_ablation import features, print_summary, run as ablation_run

CANDIDATES = ('default', 'tuned class offsets', 'view-mean rows', 'MLP head', 'two crops, 16 views')

def _folds(y, seed): return StratifiedKFold(3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)

def _score(p, y): return dict(accuracy=accuracy(p, y), macro_f1=macro_f1(p, y))

def tuned_offsets(ftr, ytr, fva, k, seed, views, C, tau, rounds=3, grid=np.linspace(-1.5, 1.5, 31), folds=3):
    "Per-class logit offsets maximising out-of-fold macro-F1, then the probe on all training images plus them."
    ftr, fva = ftr[:, views], fva[:, views]
    oof = oof_logits(ftr, ytr, C, k, folds, seed)
    off, eye = -logit_shift(ytr, k, tau), torch.eye(k)
    f1 = lambda o: macro_f1((oof + o).softmax(-1).mean(1), ytr)
    for _ in range(rounds):
        for c in range(k): off = off + eye[c] * max(grid, key=lambda g: (f1(off + eye[c] * g), -abs(g)))
    W, bb = fit_logistic(ftr, ytr, C, n_classes=k)
    return (fva @ W.T + bb + off).softmax(-1).mean(1)

def mlp_probs(ftr, ytr, fva, k, seed, hidden=512, epochs=20, bs=256, lr=1e-3):
    "Logits [N, V, k] for the views of `fva` from an MLP head trained on every view of `ftr` (standardised)."
    torch.manual_seed(seed)
    rows, yr = ftr.reshape(-1, ftr.shape[-1]), ytr.repeat_interleave(ftr.shape[1])
    mu, sd = rows.mean(0), rows.std(0).clamp_min(1e-6); rows = (rows - mu) / sd
    net = nn.Sequential(nn.Dropout(0.2), nn.Linear(rows.shape[1], hidden), nn.GELU(), nn.Dropout(0.5),
                        nn.Linear(hidden, k))
    opt = torch.optim.AdamW(net.parameters(), lr, weight_decay=0.05)
    steps = epochs * (len(rows) // bs); sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(rows))
        for i in range(0, len(rows) - bs + 1, bs):
            b = perm[i:i + bs]
            loss = nn.functional.cross_entropy(net(rows[b]), yr[b], label_smoothing=0.1)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    net.eval()
    with torch.no_grad(): return net((fva - mu) / sd)                                # [N, V, k]

def mlp_head(ftr, ytr, fva, k, seed):
    "The MLP head with τ chosen by 3-fold CV (macro-F1), refitted on all training images."
    oof = torch.zeros(len(ytr), ftr.shape[1], k)
    for a, b in _folds(ytr, seed): oof[b] = mlp_probs(ftr[a], ytr[a], ftr[b], k, seed)
    tau = max(PROBE_TAUS, key=lambda t: macro_f1((oof - logit_shift(ytr, k, t)).softmax(-1).mean(1), ytr))
    return (mlp_probs(ftr, ytr, fva, k, seed) - logit_shift(ytr, k, tau)).softmax(-1).mean(1), tau

def candidate(name, f, f2, y, seed, valid_pct, k, default):
    "Held-out scores of one candidate (and the settings it chose)."
    tr, va = stratified_split(y.numpy(), valid_pct, seed); ytr = y[tr]
    if name == 'default': return default
    if name == 'tuned class offsets':
        tta = default['tta']
        views = [DIHEDRAL_VIEWS.index(v) for v in (TTA_SETS[tta] if isinstance(tta, str) else tta)]
        p = tuned_offsets(f[tr], ytr, f[va], k, seed, views, default['C'], default['tau'])
        return _score(p, y[va]) | dict(C=default['C'], tau='per class')
    if name == 'view-mean rows':
        r = fit_probe(f[tr].mean(1, keepdim=True), ytr, 'none', ['none'], PROBE_CS, PROBE_TAUS, n_classes=k, seed=seed)
        return _score(view_probs(f[va].mean(1, keepdim=True), r['weight'], r['bias']), y[va]) | dict(C=r['C'],
                                                                                                    tau=r['tau'])
    if name == 'MLP head':
        p, tau = mlp_head(f[tr], ytr, f[va], k, seed)
        return _score(p, y[va]) | dict(C=None, tau=tau)
    if name == 'two crops, 16 views':
        z, names = torch.cat([f, f2], 1), [f'{c}{i}' for c in 'cw' for i in range(8)]
        r = fit_probe(z[tr], ytr, names, [names], PROBE_CS, PROBE_TAUS, n_classes=k, seed=seed)
        return _score(view_probs(z[va], r['weight'], r['bias']), y[va]) | dict(C=r['C'], tau=r['tau'])
    raise ValueError(name)

def report_paired(runs, candidates, seeds, out=None):
    "Print the paired differences candidate − default in points; with `out`, write runs.csv there."
    others = [c for c in candidates if c != 'default']
    if 'default' in candidates and others and len(seeds) > 1:
        diff = paired_differences(runs, [(c, 'default') for c in others], by='candidate')
        diff[['mean', 'std']] *= 100; diff['per_seed'] = [[round(100 * v, 1) for v in s] for s in diff['per_seed']]
        print("\npaired differences, candidate − default, in points (mean ± std over seeds):")
        print(diff.round(1).to_string(index=False))
    if out: Path(out).mkdir(parents=True, exist_ok=True); runs.to_csv(Path(out)/'runs.csv', index=False)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--candidates', nargs='+', default=list(CANDIDATES), choices=list(CANDIDATES))
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--model', default='efficientnet_lite0')
    p.add_argument('--device', default=None)
    p.add_argument('--out', default=None)
    a = p.parse_args()
    warnings.filterwarnings('ignore', category=UserWarning)
    dev, rows = get_device(a.device), []
    f, y, d, secs = features(a.model, a.size, dev, tta='dihedral')          # the centre crop's 8 views
    print(f"centre crop: features of {len(y)} images x 8 views in {secs:.0f}s", flush=True)
    f2 = None
    if 'two crops, 16 views' in a.candidates:
        f2, y2, _, secs2 = features(a.model, a.size, dev, crop_pct=1.0, tta='dihedral')
        assert torch.equal(y, y2)
        print(f"whole image: features of {len(y)} images x 8 views in {secs2:.0f}s", flush=True)
    k = int(y.max()) + 1
    for seed in a.seeds:
        t0 = time.perf_counter(); default = ablation_run(f, y, d, seed, a.valid_pct, 'centre crop only', k, views='dihedral')
        default_secs = time.perf_counter() - t0
        for name in a.candidates:
            t1 = time.perf_counter()
            r = dict(candidate=name, seed=seed, **candidate(name, f, f2, y, seed, a.valid_pct, k, default))
            r['seconds'] = default_secs if name == 'default' else time.perf_counter() - t1
            rows.append(r)
            print(f"{name:<22} seed {seed}: accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
                  f"(C={r['C']}, tau={r['tau']}; {r['seconds']:.0f}s)", flush=True)
    runs = pd.DataFrame(rows)
    print_summary(runs, 'candidate', f"mean ± std over seeds {a.seeds} ({a.valid_pct:.0%} stratified hold-out, "
                  f"{a.model}, {a.size} px):")
    report_paired(runs, a.candidates, a.seeds, a.out)

if __name__ == '__main__': main()
