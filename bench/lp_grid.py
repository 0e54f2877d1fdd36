#!/usr/bin/env python
"""Could the default `lp` probe's own choices meet the bar? Every setting of its grid scored on the held-out images.

The default chooses its views, C and τ by 2-fold cross-validation on the training images (`select_probe`). This
asks whether a better choice could lift it: for every seed (the split of `ftbook-finetune --seed S`), every setting
of the grid (`PROBE_TTA` × `PROBE_CS` × `PROBE_TAUS`, 27 in all) is fitted on all training images and scored once on
the held-out images. Printed: the CV's choice; every setting's mean over seeds (the best fixed setting is the best
one could do by choosing one setting for all splits); and an *oracle* that picks, on every seed, the setting with
the best held-out macro-F1, which no honest recipe can do: an upper bound on what any selection rule over this grid
could reach on these splits. The default's features of every elpv image are extracted once (`--cache FILE` keeps
them for the next call, as in `lp_beyond.py`).

    python bench/lp_grid.py --seeds 1000 1001 1002 1003 1004 1005 1006 1007 1008 1009 --cache /tmp/elpv_feats.pt
"""
import argparse, warnings
import pandas as pd
from ftbook.core import get_device
from ftbook.data import stratified_split
from ftbook.metrics import accuracy, macro_f1
from ftbook.probe import PROBE_CS, PROBE_TAUS, PROBE_TTA, _view_index, fit_logistic, logit_shift, select_probe
from lp_ablation import VIEWS, default_features

def grid_scores(f, y, seed, valid_pct=0.2) -> pd.DataFrame:
    "Held-out accuracy and macro-F1 of every setting of the grid on `seed`'s split, and which one the CV chose."
    k, yn = int(y.max()) + 1, y.numpy()
    tr, va = stratified_split(yn, valid_pct, seed); ytr = yn[tr]
    sel, rows = select_probe(f[tr], ytr, VIEWS, PROBE_TTA, seed=seed), []
    for views in PROBE_TTA:
        idx = _view_index(VIEWS, views)
        for C in PROBE_CS:
            W, b = fit_logistic(f[tr][:, idx], ytr, C, n_classes=k)
            logits = f[va][:, idx] @ W.T + b
            for tau in PROBE_TAUS:
                p = (logits - logit_shift(ytr, k, tau)).softmax(-1).mean(1)
                rows.append(dict(seed=seed, tta=views, C=C, tau=tau, accuracy=accuracy(p, y[va]),
                                 macro_f1=macro_f1(p, y[va]),
                                 chosen=(views, C, tau) == (sel['tta'], sel['C'], sel['tau'])))
    return pd.DataFrame(rows)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--device', default=None)
    p.add_argument('--cache', default=None, help="a file for the default's features (read if it exists, else written)")
    a = p.parse_args()
    warnings.filterwarnings('ignore', category=UserWarning)
    f, y, secs = default_features(get_device(a.device), a.cache)
    print(f"default: efficientnet_lite0 features of {len(y)} images x {f.shape[1]} views in {secs:.0f}s", flush=True)
    runs = []
    for seed in a.seeds:
        d = grid_scores(f, y, seed, a.valid_pct); runs.append(d)
        c, o = d[d.chosen].iloc[0], d.loc[d.macro_f1.idxmax()]
        print(f"seed {seed}: CV chose {c.tta} C={c.C} tau={c.tau}: {c.accuracy:.3f} / {c.macro_f1:.3f}; "
              f"best held-out {o.tta} C={o.C} tau={o.tau}: {o.accuracy:.3f} / {o.macro_f1:.3f}", flush=True)
    d = pd.concat(runs, ignore_index=True)
    def line(name, r):
        print(f"  {name:<34} accuracy {r.accuracy.mean():.3f} ± {r.accuracy.std():.3f}   "
              f"macro-F1 {r.macro_f1.mean():.3f} ± {r.macro_f1.std():.3f}")
    print(f"\nheld-out accuracy / macro-F1, mean ± std over seeds {a.seeds} ({a.valid_pct:.0%} stratified hold-out):")
    line('the CV choice (the default)', d[d.chosen])
    line('oracle (best held-out macro-F1)', d.loc[d.groupby('seed').macro_f1.idxmax()])
    print("every setting, best mean macro-F1 first:")
    for (views, C, tau), r in sorted(d.groupby(['tta', 'C', 'tau']), key=lambda g: -g[1].macro_f1.mean()):
        line(f'{views} C={C} tau={tau}', r)

if __name__ == '__main__': main()
