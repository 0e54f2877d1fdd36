#!/usr/bin/env python
"""Does fine-tuning the top of the backbone help the default `lp` probe on elpv? (a benchmark, not a test)

`bench/lp_beyond.py`'s 'last stage fine-tuned' trained `blocks.6` and the conv head at a small learning rate (3e-5)
through the probe's frozen head and came out within noise. This asks the larger question within a CPU budget: the
outputs of `blocks.4` (112 × 14 × 14) of every elpv image in the default's 16 views are cached once (onnxruntime,
fp16, about 1.8 GB; `--maps` keeps them), so training the last two block stages and the conv head (`blocks.5`,
`blocks.6`, `conv_head`; about 35% of the network's multiply-adds; BatchNorm statistics kept) costs a fraction of a
full fine-tune at 224 px. Per seed, on the split of `ftbook-finetune --seed S`:

- default: the default probe (views fixed to elpv's 16, C and τ by its CV) on the cached features;
- fine-tuned: the top stages and the probe's head (initialised from the default probe: LP-FT) trained together on one
  random view of every training image per epoch (AdamW at `--lrs`, weight decay 0.01, one-cycle, `--epochs`,
  batch 32, cross-entropy before the logit adjustment), held-out images predicted from the 16 views with the
  probe's τ shift;
- with `--refit`: instead, the fine-tuned top stages give new features of every image in the 16 views, and the
  default probe is fitted and chosen on them as usual (LP-FT, then LP again).

Prints each seed's scores and the paired differences against the default in points (mean ± std over seeds).
Measured on design seeds 1000 and 1001 (a 2-core AMD EPYC without AVX-512, 2026-12-03; the maps pass 260 s):
fine-tuned lr 1e-4 −3.0 / −4.6 and +0.4 / −0.6 (accuracy / macro-F1), lr 3e-4 −4.4 / −9.1 and −2.9 / −2.8;
with `--refit`, lr 1e-4, −1.9 / −3.9 and +0.2 / −0.6, about 5 minutes a seed. Worse the more the backbone moves:
not adopted, and not run on further seeds.

    python bench/top_stages_ft.py --cache /tmp/elpv_feats.pt --maps /tmp/b4maps.pt --seeds 1000 1001 --lrs 1e-4 3e-4
"""
import argparse, copy, time, warnings
from pathlib import Path
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from ftbook.data import stratified_split
from ftbook.models import create_model
from ftbook.probe import logit_shift
from lp_ablation import VIEWS, default_features
from lp_beyond import DEFAULT_TTA, _bn_eval, _score, _Trunk, last_stage, onnx_views, probe, tail_features

class Top(nn.Module):
    "Lite0 from `blocks.4`'s output to the default's features: `blocks.5`, then `lp_beyond`'s last stage and layout."
    def __init__(self, m): super().__init__(); self.b5, self.tail = m.blocks[5], last_stage(m)
    def forward(self, x): return tail_features(self.tail, self.b5(x))

def _cl(x): return x.float().contiguous(memory_format=torch.channels_last)

def fine_tune(top0, maps, y, tr, va, r0, lr, epochs, seed, refit, k=4, bs=32):
    "Held-out probabilities after fine-tuning a copy of `top0` and the probe `r0`'s head on the training images."
    g = torch.Generator().manual_seed(seed); torch.manual_seed(seed)
    top = copy.deepcopy(top0).train(); _bn_eval(top)
    shift = logit_shift(y[tr], k, r0['tau'])
    W, b = nn.Parameter(r0['weight'].clone()), nn.Parameter(r0['bias'] + shift)      # before the logit adjustment
    views = torch.as_tensor(r0['views'])
    opt = torch.optim.AdamW([*top.parameters(), W, b], lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * -(-len(tr) // bs), pct_start=0.1)
    ytr, trt = torch.as_tensor(y[tr]), torch.as_tensor(tr)
    for _ in range(epochs):
        perm, pick = torch.randperm(len(tr), generator=g), views[torch.randint(0, len(views), (len(tr),), generator=g)]
        for i in range(0, len(tr), bs):
            j = perm[i:i + bs]
            loss = F.cross_entropy(top(_cl(maps[trt[j], pick[j]])) @ W.T + b, ytr[j])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    top.eval()
    with torch.no_grad():
        if refit:                                              # new features of every image, the default probe on them
            v = maps.shape[1]
            f = torch.cat([top(_cl(maps[i:i + 16].flatten(0, 1))).view(-1, v, W.shape[1])
                           for i in range(0, len(maps), 16)])
            return probe(f, y[tr], tr, va, VIEWS, DEFAULT_TTA, k, seed)[0]
        out = [(top(_cl(maps[torch.as_tensor(va[i:i + bs])][:, views].flatten(0, 1))) @ W.T + b - shift)
               .softmax(-1).view(-1, len(views), k).mean(1) for i in range(0, len(va), bs)]
    return torch.cat(out)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[1000, 1001])
    p.add_argument('--lrs', type=float, nargs='+', default=[1e-4])
    p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--refit', action='store_true', help='refit the default probe on the fine-tuned features')
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--cache', default=None, help="a file for the default's features (read if it exists, else written)")
    p.add_argument('--maps', default=None, help="a file for the blocks.4 maps (read if it exists, else written)")
    a = p.parse_args()
    warnings.filterwarnings('ignore', category=UserWarning)
    f, y, _ = default_features(None, a.cache)
    if a.maps and Path(a.maps).exists(): maps, ym = torch.load(a.maps)
    else:
        maps, ym, _, secs = onnx_views(lambda m: _Trunk(m, 4), torch.Tensor.half)
        print(f"blocks.4 maps {tuple(maps.shape)} in {secs:.0f}s", flush=True)
        if a.maps: torch.save((maps, ym), a.maps)
    assert torch.equal(y, ym), "the maps and the features are of different images"
    top0 = Top(create_model('efficientnet_lite0', num_classes=4, pretrained=True)).eval()
    with torch.no_grad(): fm = top0(_cl(maps[:64, 0]))
    err = ((fm - f[:64, 0]).norm(dim=-1) / f[:64, 0].norm(dim=-1)).max().item()
    print(f"the frozen top stages on the maps give the default's features within {err:.1e} (relative)", flush=True)
    yn, rows = y.numpy(), []
    for seed in a.seeds:
        tr, va = stratified_split(yn, a.valid_pct, seed)
        p0, r0 = probe(f, yn[tr], tr, va, VIEWS, DEFAULT_TTA, 4, seed); s0 = _score(p0, y[va])
        print(f"seed {seed} default: {s0['accuracy']:.3f} / {s0['macro_f1']:.3f}", flush=True)
        for lr in a.lrs:
            t = time.perf_counter()
            s = _score(fine_tune(top0, maps, yn, tr, va, r0, lr, a.epochs, seed, a.refit), y[va])
            d = {key: 100 * (s[key] - s0[key]) for key in s}
            rows.append(dict(seed=seed, lr=lr, **d))
            print(f"seed {seed} lr {lr:g}{' refit' if a.refit else ''}: {s['accuracy']:.3f} / {s['macro_f1']:.3f} "
                  f"(Δ {d['accuracy']:+.1f} / {d['macro_f1']:+.1f} points; {time.perf_counter() - t:.0f}s)", flush=True)
    d = pd.DataFrame(rows).groupby('lr')[['accuracy', 'macro_f1']]
    print("paired Δ fine-tuned − default in points, mean ± std over seeds:")
    for lr, g in d:
        sd = lambda c: f" ± {g[c].std():.1f}" if len(g) > 1 else ''                 # no spread from one seed
        print(f"  lr {lr:g}: accuracy {g['accuracy'].mean():+.1f}{sd('accuracy')}, "
              f"macro-F1 {g['macro_f1'].mean():+.1f}{sd('macro_f1')} ({len(g)} seed{'s' if len(g) > 1 else ''})")

if __name__ == '__main__': main()
