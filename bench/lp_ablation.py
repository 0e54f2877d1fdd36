#!/usr/bin/env python
"""Ablation of the default `lp` recipe on elpv: which ingredient buys what (a benchmark, not a test).

The features of every elpv image in the 16 views of 'dihedral2' (the 8 symmetries of the centre crop and of the
whole cell) are extracted once per image size (the frozen backbone does not depend on the split), then for every
seed the split of `ftbook-finetune --seed S` (stratified, `--valid-pct`) is made and each variant chooses its
settings by cross-validation on that seed's training images only, exactly as `ftbook.probe.linear_probe` does, and
is scored once on the held-out images:

- default: the pooled outputs of the last two stages next to the pre-logits (`default_feature_layers`), views from
  PROBE_TTA ('none', 'hflip2', 'dihedral2'), C from PROBE_CS, τ from PROBE_TAUS (macro-F1 CV);
- centre crop only: views from PROBE_TTA_CENTRE ('none', 'hflip', 'dihedral'; the default before the whole-cell
  views); the rest by CV;
- whole cell only: views from the whole cell's symmetries alone ('whole'; 'whole', 'whole_hflip'; the 8 of
  WHOLE_VIEWS), half the feature passes of the default's 16; the rest by CV;
- no layer features: the pre-logits alone (the default until layer features were measured); the rest by CV;
- no TTA: the image alone (training rows and prediction); layers, and C and τ by CV;
- no logit adjustment: τ = 0; layers, views and C by CV;
- plain probe: pre-logits only, no views, τ = 0, C by CV (logistic regression on single-view features);
- the default at the other `--sizes` (lower resolution).

The layer features are the extra columns after the first `num_features` (the pre-logits), so one extraction serves
every variant.

Prints one line per run and a mean ± std table over seeds; with `--out`, writes runs.csv there.

    python bench/lp_ablation.py --seeds 42 43 44 --sizes 224 128
"""
import argparse, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from ftbook.core import get_device
from ftbook.augment import DIHEDRAL_VIEWS, TTA_SETS, WHOLE_VIEWS
from ftbook.data import ImageDataset, load_elpv, make_dataloaders, stratified_split
from ftbook.features import extract_features, add_layer_features, default_feature_layers
from ftbook.metrics import accuracy, macro_f1
from ftbook.models import create_model, model_norm, freeze
from ftbook.probe import PROBE_CS, PROBE_TAUS, PROBE_TTA, PROBE_TTA_CENTRE, fit_probe, view_probs

VIEWS = 'dihedral2'                                                   # what is extracted: every variant's views
# the centre-crop-only candidates (PROBE_TTA_CENTRE) with every view taken of the whole cell instead
WHOLE_ONLY = tuple([WHOLE_VIEWS[DIHEDRAL_VIEWS.index(n)] for n in TTA_SETS[c]] for c in PROBE_TTA_CENTRE)
VARIANTS = {'default': dict(tta=PROBE_TTA, taus=PROBE_TAUS, layers=True),
            'centre crop only': dict(tta=PROBE_TTA_CENTRE, taus=PROBE_TAUS, layers=True),
            'whole cell only': dict(tta=WHOLE_ONLY, taus=PROBE_TAUS, layers=True),
            'no layer features': dict(tta=PROBE_TTA, taus=PROBE_TAUS, layers=False),
            'no TTA': dict(tta=('none',), taus=PROBE_TAUS, layers=True),
            'no logit adjustment': dict(tta=PROBE_TTA, taus=(0.,), layers=True),
            'plain probe': dict(tta=('none',), taus=(0.,), layers=False)}

def elpv_pass(model_name, size, bs=64, crop_pct=0.875, pre=None):
    "A frozen pretrained `model_name` and a loader of every elpv image in dataset order (evaluation transform)."
    ds = load_elpv()
    if pre is not None:                          # a uint8 H×W -> H×W map applied to every (grey) image's first channel
        ims = [pre(ds.get_image(i)[0].numpy()) for i in range(len(ds))]
        ds = ImageDataset(np.stack(ims), ds.targets, ds.classes, names=ds.names, proba=ds.proba, types=ds.types)
    m = freeze(create_model(model_name, num_classes=len(ds.classes), pretrained=True))
    mean, std = model_norm(m)
    dls = make_dataloaders(ds, valid_pct=0.2, size=size, bs=32, mean=mean, std=std, seed=0, crop_pct=crop_pct)
    return m, dls.eval_loader(ds, bs=bs)

def features(model_name, size, device, bs=64, crop_pct=0.875, tta=VIEWS, pre=None):
    "Features [N, V, D + layers] in the views `tta` and targets of every elpv image at `size`, D, and the seconds."
    m, dl = elpv_pass(model_name, size, bs, crop_pct, pre)
    d = m.num_features
    add_layer_features(m, default_feature_layers(m))
    t0 = time.perf_counter()
    f, y = extract_features(m, dl, device, tta=tta)
    return f, y, d, time.perf_counter() - t0

def default_features(device, cache=None, size=224):
    "The default's `features` (Lite0, `size` px) and targets, and the seconds (0: read from `cache`, kept for reuse)."
    if cache and Path(cache).exists(): c = torch.load(cache); return c['f'], c['y'], 0.
    f, y, _, secs = features('efficientnet_lite0', size, device)
    if cache: torch.save(dict(f=f, y=y), cache)
    return f, y, secs

def run(f, y, d, seed, valid_pct, variant, classes, views=VIEWS):
    "Held-out scores of one variant on one seed's split, from features `f` extracted in the views `views`."
    tr, va = stratified_split(y.numpy(), valid_pct, seed)
    v = VARIANTS[variant]
    if not v['layers']: f = f[..., :d]
    r = fit_probe(f[tr], y[tr], views, v['tta'], PROBE_CS, v['taus'], n_classes=classes, seed=seed)
    p = view_probs(f[va][:, r['views']], r['weight'], r['bias'])
    return dict(accuracy=accuracy(p, y[va]), macro_f1=macro_f1(p, y[va]), tta=r['tta'], C=r['C'], tau=r['tau'])

def print_summary(runs, by, title):
    "Accuracy and macro-F1, mean ± std over seeds, one line per value of column `by` (in order of appearance)."
    summ = runs.groupby(by, sort=False)[['accuracy', 'macro_f1']].agg(['mean', 'std'])
    print(f"\n{title}")
    for v, r in summ.iterrows():
        print(f"  {v:<28} accuracy {r[('accuracy', 'mean')]:.3f} ± {r[('accuracy', 'std')]:.3f}   "
              f"macro-F1 {r[('macro_f1', 'mean')]:.3f} ± {r[('macro_f1', 'std')]:.3f}")

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument('--sizes', type=int, nargs='+', default=[224, 128])
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--model', default='efficientnet_lite0')
    p.add_argument('--device', default=None)
    p.add_argument('--out', default=None)
    a = p.parse_args()
    dev, rows = get_device(a.device), []
    for size in a.sizes:
        f, y, d, secs = features(a.model, size, dev)
        print(f"{size} px: features of {len(y)} images x {f.shape[1]} views in {secs:.0f}s "
              f"({f.shape[1] * len(y) / secs:.0f} views/s "
              f"on {dev}, {torch.get_num_threads()} threads)", flush=True)
        for variant in (a.variants if size == a.sizes[0] else ['default']):
            for seed in a.seeds:
                t0 = time.perf_counter()
                r = dict(variant=variant if size == a.sizes[0] else f'{variant} at {size} px', size=size, seed=seed,
                         **run(f, y, d, seed, a.valid_pct, variant, int(y.max()) + 1), seconds=time.perf_counter() - t0)
                rows.append(r)
                print(f"{r['variant']:<28} seed {seed}: accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
                      f"(CV chose tta={r['tta']}, C={r['C']}, tau={r['tau']}; {r['seconds']:.0f}s)", flush=True)
    runs = pd.DataFrame(rows)
    print_summary(runs, 'variant',
                  f"mean ± std over seeds {a.seeds} ({a.valid_pct:.0%} stratified hold-out, {a.model}):")
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True); runs.to_csv(Path(a.out)/'runs.csv', index=False)

if __name__ == '__main__': main()
