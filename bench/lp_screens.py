#!/usr/bin/env python
"""Quick screens of ideas for the default `lp` probe on elpv, each paired with the default (a benchmark, not a test).

`bench/lp_beyond.py` measures candidates that need their own feature pass or training; all of these but AdaBN need
only the default's cached features (`--cache`, the file `bench/lp_beyond.py --cache` writes, made here if missing)
and the labels, and each asks one question, on the same splits as `ftbook-finetune --seed S`:

- label cleaning: cleanlab's `find_label_issues` (prune by noise rate) on the default probe's out-of-fold
  probabilities of the training images (the views averaged); the flagged images are dropped and the default probe is
  refitted (views fixed, C and τ by the same CV). `ftbook.analysis.find_label_issues` (the clinic's) lists every
  off-diagonal image of the confident joint, about a sixth of elpv, for an expert to look at; pruning by noise rate
  drops fewer (about an eighth), which suits cleaning better. The clinic shows that on elpv most flags fall on the
  uncertain grades;
- per type: elpv ships each cell's type (mono or poly), which the features separate perfectly (the clinic's
  dataset shift section); one default probe per type, each fitted and chosen on the training images of its type;
- type interaction: one probe on the features and the features × is_poly side by side, i.e. shared weights plus a
  per-type difference under one C;
- probe + MLP: the default probe's held-out probabilities averaged with those of `lp_candidates.py`'s MLP head
  (one hidden layer of 512, every view a training row), its logits shifted by the probe's chosen τ (no CV of its
  own, so it costs one fit); on the 8-view default the MLP alone had gained macro-F1 and lost accuracy;
- AdaBN: the backbone's BatchNorm statistics re-estimated on every elpv image (centre crop, unlabelled; a
  transductive screen) before the default's feature pass, which it repeats (`--adabn-cache` keeps those features);
  then the default probe on them;
- soft labels 0.1 / 0.2: the grades are ordered, so every training image's target puts 1 − ε on its grade and ε on
  the neighbouring grades (split equally), in every fit of the probe (its CV and its final fit); C and τ are still
  chosen on the macro-F1 of the hard labels;
- logit mean: the default head's logits averaged over the views before the softmax (a geometric mean of the views'
  probabilities) instead of its probabilities;
- C ensemble: the probe fitted at each of the CV's three strengths (`PROBE_CS`), its probabilities averaged, every
  fit shifted by the CV's τ;
- shrinkage LDA: scikit-learn's linear discriminant analysis with Ledoit-Wolf shrinkage (`solver='lsqr'`,
  `shrinkage='auto'`) on the standardised features, every view a training row, its log posteriors shifted by the
  CV's τ·log prior, the views' probabilities averaged: the classic strong linear classifier on frozen features.

Prints one line per seed and candidate, a mean ± std table and the paired differences candidate − default in points.
Measured on design seeds 1000-1009 (AMD EPYC, 2 cores, about 1 min per seed and candidate); none was adopted.

    python bench/lp_screens.py --cache /tmp/elpv_feats.pt --seeds 1000 1001 1002
"""
import argparse, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
import ftbook.probe as probe_module
from ftbook.core import get_device
from ftbook.data import load_elpv, stratified_split
from ftbook.features import add_layer_features, default_feature_layers, extract_features
from ftbook.metrics import accuracy, macro_f1
from ftbook.probe import (PROBE_CS, PROBE_FOLDS, PROBE_TAUS, fit_logistic, fit_probe, logit_shift, oof_logits,
                          view_probs)
from lp_ablation import VIEWS, default_features, elpv_pass, print_summary
from lp_beyond import DEFAULT_TTA
from lp_candidates import mlp_probs, report_paired

CANDIDATES = ('default', 'label cleaning', 'per type', 'type interaction', 'probe + MLP', 'AdaBN', 'soft labels 0.1',
              'soft labels 0.2', 'logit mean', 'C ensemble', 'shrinkage LDA')

def fit_default(f, y, seed):
    "The default probe on features `f` [N, 16, D]: its views fixed to elpv's 16, C and τ by its CV."
    return fit_probe(f, y, VIEWS, DEFAULT_TTA, PROBE_CS, PROBE_TAUS, n_classes=4, seed=seed)

_FITS = {}
def fit(f, y, seed):
    "`fit_default`, remembered for the last (features, targets, seed): the screens reading the default fit share it."
    key = (hash(f.numpy().tobytes()), hash(y.numpy().tobytes()), seed)
    if key not in _FITS: _FITS.clear(); _FITS[key] = fit_default(f, y, seed)
    return _FITS[key]
def held_out(r, f): return view_probs(f[:, r['views']], r['weight'], r['bias'])

def label_cleaning(f, y, tr, va, seed):
    from cleanlab.filter import find_label_issues        # a development requirement (settings.ini)
    r = fit(f[tr], y[tr], seed)
    oof = oof_logits(f[tr][:, r['views']], y[tr].numpy(), r['C'], 4, PROBE_FOLDS, seed)    # [N, V, K]
    issues = find_label_issues(y[tr].numpy(), oof.softmax(-1).mean(1).double().numpy(),
                               filter_by='prune_by_noise_rate')
    keep = tr[~issues]
    return held_out(fit(f[keep], y[keep], seed), f[va]), f"{int(issues.sum())} of {len(tr)} dropped"

def per_type(f, y, tr, va, seed, poly):
    p = torch.zeros(len(va), 4)
    for t in (False, True):
        mtr, mva = tr[poly[tr] == t], poly[va] == t
        p[torch.as_tensor(mva)] = held_out(fit(f[mtr], y[mtr], seed), f[va][mva])
    return p, ''

def type_interaction(f, y, tr, va, seed, poly):
    fi = torch.cat([f, f * torch.as_tensor(poly, dtype=f.dtype)[:, None, None]], -1)
    return held_out(fit(fi[tr], y[tr], seed), fi[va]), ''

def probe_mlp(f, y, tr, va, seed):
    r = fit(f[tr], y[tr], seed)
    logits = mlp_probs(f[tr], y[tr], f[va], 4, seed) - logit_shift(y[tr].numpy(), 4, r['tau'])
    return (held_out(r, f[va]) + logits.softmax(-1).mean(1)) / 2, f"τ {r['tau']}"

def logit_mean(f, y, tr, va, seed):
    r = fit(f[tr], y[tr], seed)
    return (f[va][:, r['views']] @ r['weight'].T + r['bias']).mean(1).softmax(-1), ''

def c_ensemble(f, y, tr, va, seed):
    r = fit(f[tr], y[tr], seed); X = f[tr][:, r['views']]
    shift = logit_shift(y[tr].numpy(), 4, r['tau'])
    ps = [view_probs(f[va][:, r['views']], W, b - shift)
          for W, b in (fit_logistic(X, y[tr].numpy(), C, n_classes=4) for C in PROBE_CS)]
    return sum(ps) / len(ps), f"τ {r['tau']}"

def shrinkage_lda(f, y, tr, va, seed):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    r = fit(f[tr], y[tr], seed)
    X = f[tr][:, r['views']].flatten(0, 1).double().numpy(); mu, sd = X.mean(0), X.std(0) + 1e-6
    lda = LinearDiscriminantAnalysis(solver='lsqr', shrinkage='auto')
    lda.fit((X - mu) / sd, y[tr].repeat_interleave(len(r['views'])).numpy())
    Xv = f[va][:, r['views']]
    dec = torch.as_tensor(lda.decision_function((Xv.flatten(0, 1).double().numpy() - mu) / sd)).float()
    dec = dec.view(len(va), len(r['views']), 4) - logit_shift(y[tr].numpy(), 4, r['tau'])
    return dec.softmax(-1).mean(1), f"τ {r['tau']}"

def adabn_features(cache=None):
    "The default's features after re-estimating every BatchNorm's statistics on all elpv images (identity view)."
    if cache and Path(cache).exists(): return torch.load(cache)['f']
    m, dl = elpv_pass('efficientnet_lite0', 224)
    bns = [b for b in m.modules() if isinstance(b, nn.modules.batchnorm._BatchNorm)]
    for b in bns: b.reset_running_stats(); b.momentum = None; b.train()     # momentum None: a cumulative average
    with torch.no_grad():
        for xb, _ in dl: m(xb.contiguous(memory_format=torch.channels_last))
    m.eval()
    add_layer_features(m, default_feature_layers(m))
    f, y = extract_features(m, dl, tta=VIEWS)
    if cache: torch.save(dict(f=f, y=y), cache)
    return f

class _SoftLabels:
    "Stands in for `torch.nn.functional` inside `ftbook.probe`: its cross-entropy takes ordinal soft targets."
    def __init__(self, eps, k=4):
        self.Q = torch.eye(k, dtype=torch.float64) * (1 - eps)
        for i in range(k):
            nb = [j for j in (i - 1, i + 1) if 0 <= j < k]
            for j in nb: self.Q[i, j] = eps / len(nb)
    def __getattr__(self, name): return getattr(F, name)
    def cross_entropy(self, logits, t): return -(self.Q[t] * logits.log_softmax(-1)).sum(-1).mean()

def soft_labels(f, y, tr, va, seed, eps):
    probe_module.F = _SoftLabels(eps)
    try: return held_out(fit_default(f[tr], y[tr], seed), f[va]), ''      # a fit of its own, never the remembered one
    finally: probe_module.F = F

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[1000, 1001, 1002])
    p.add_argument('--candidates', nargs='+', default=list(CANDIDATES), choices=list(CANDIDATES))
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--device', default=None)
    p.add_argument('--cache', default=None,
                   help="a file for the default's features (read if it exists, else written)")
    p.add_argument('--adabn-cache', default=None, help="the same for AdaBN's features")
    p.add_argument('--out', default=None)
    a = p.parse_args()
    warnings.filterwarnings('ignore', category=UserWarning)
    f, y, secs = default_features(get_device(a.device), a.cache)
    ds = load_elpv(); assert (np.asarray(ds.targets) == y.numpy()).all()
    poly = np.asarray(ds.types) == 'poly'
    screens = {'label cleaning': label_cleaning,
               'per type': lambda *args: per_type(*args, poly),
               'type interaction': lambda *args: type_interaction(*args, poly),
               'probe + MLP': probe_mlp,
               'AdaBN': lambda f, y, tr, va, seed: (held_out(fit(fa[tr], y[tr], seed), fa[va]), ''),
               'soft labels 0.1': lambda *args: soft_labels(*args, 0.1),
               'soft labels 0.2': lambda *args: soft_labels(*args, 0.2),
               'logit mean': logit_mean, 'C ensemble': c_ensemble, 'shrinkage LDA': shrinkage_lda}
    print(f"default: features of {len(y)} images x {f.shape[1]} views ({secs:.0f}s)", flush=True)
    fa = adabn_features(a.adabn_cache) if 'AdaBN' in a.candidates else None
    cands = ['default'] + [c for c in a.candidates if c != 'default']
    rows = []
    for seed in a.seeds:
        tr, va = stratified_split(y.numpy(), a.valid_pct, seed)
        for c in cands:
            t0 = time.perf_counter()
            if c == 'default': pr, info = held_out(fit(f[tr], y[tr], seed), f[va]), ''
            else: pr, info = screens[c](f, y, tr, va, seed)
            rows.append(dict(seed=seed, candidate=c, accuracy=accuracy(pr, y[va]), macro_f1=macro_f1(pr, y[va])))
            print(f"seed {seed} {c:<17} accuracy {rows[-1]['accuracy']:.3f} macro-F1 {rows[-1]['macro_f1']:.3f} "
                  f"{info} ({time.perf_counter() - t0:.0f}s)", flush=True)
    runs = pd.DataFrame(rows)
    print_summary(runs, 'candidate', f"mean ± std over seeds {a.seeds}")
    report_paired(runs, cands, a.seeds, a.out)

if __name__ == '__main__': main()
