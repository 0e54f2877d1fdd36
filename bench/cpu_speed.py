#!/usr/bin/env python
"""ftbook's CPU speed against a plain PyTorch baseline, measured side by side in one run (a benchmark, not a test).

Real data and weights: elpv stored at `size/0.875` px, EfficientNet-Lite0 with its bundled ImageNet weights, 4 classes.

- training: a plain fp32 loop (NCHW weights and inputs, per-image torchvision transforms in the DataLoader) against
  the `Learner` with ftbook's defaults (uint8 batches augmented as whole batches by `BatchAugment`, channels-last
  weights and inputs, float32 training); also the `Learner` with bf16 autocast training, to show whether it pays here;
- inference: a plain fp32 NCHW evaluation loop against `Learner.get_preds` (channels-last, bf16 where native), with
  the agreement of their predictions;
- feature caching: `ftbook.features.extract_features` (images/s);
- the data-wait share: the fraction of the training step time spent waiting for the next batch (loading and
  augmentation), for both pipelines.

Timed repeats alternate between the setups (A, B, A, B, ...), so load from other processes hits both; the first
repeat of each is warm-up. Medians and ratios are printed; the ratios are the numbers to read on a shared machine.

    python bench/cpu_speed.py                       # 128 px, bs 32, 2 threads, 6 steps x 5 repeats
    python bench/cpu_speed.py --size 160 --repeats 7
"""
import argparse, copy, statistics, time
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from ftbook.augment import get_transforms, resize_size
from ftbook.callbacks import MixedPrecision
from ftbook.core import set_seed
from ftbook.data import load_elpv, make_dataloaders
from ftbook.features import extract_features
from ftbook.learner import Callback, Learner
from ftbook.models import create_model
from ftbook.optim import trainable_param_groups
from ftbook.perf import bf16_native

class StepTimer(Callback):
    "Training-phase wall time and the part of it spent between batches (waiting for data)."
    def before_train(self): self.t0 = self.t_prev = time.perf_counter(); self.wait = 0.
    def before_batch(self): self.wait += time.perf_counter() - self.t_prev
    def after_batch(self): self.t_prev = time.perf_counter()
    def after_train(self): self.elapsed = time.perf_counter() - self.t0

class Limited:
    "The first `n` batches of a loader (a short timed epoch)."
    def __init__(self, dl, n): self.dl, self.n = dl, n
    def __iter__(self): return (b for _, b in zip(range(self.n), self.dl))
    def __len__(self): return min(self.n, len(self.dl))
    def __getattr__(self, k): return getattr(self.dl, k)

def plain_train(model, dl, steps):
    "A plain fp32 NCHW training loop; returns (seconds, seconds waiting for data)."
    opt = torch.optim.AdamW(trainable_param_groups(model, lr=1e-4, wd=0.01))
    model.train(); wait, t0 = 0., time.perf_counter(); it = iter(dl)
    for _ in range(steps):
        tw = time.perf_counter(); xb, yb = next(it); wait += time.perf_counter() - tw
        loss = F.cross_entropy(model(xb), yb)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    return time.perf_counter() - t0, wait

@torch.no_grad()
def plain_predict(model, dl):
    model.eval(); return torch.cat([F.softmax(model(xb), 1) for xb, _ in dl])

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=128, help='image side in pixels')
    p.add_argument('--bs', type=int, default=32, help='batch size')
    p.add_argument('--steps', type=int, default=6, help='training steps per timed repeat')
    p.add_argument('--repeats', type=int, default=5, help='timed repeats of each setup (after one warm-up)')
    p.add_argument('--n-infer', type=int, default=256, help='validation images per inference repeat')
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    a = p.parse_args()
    torch.set_num_threads(a.threads); set_seed(0)
    ds = load_elpv(size=resize_size(a.size))
    base = create_model('efficientnet_lite0', num_classes=4, pretrained=True)
    print(f"EfficientNet-Lite0 {a.size}px bs={a.bs} threads={a.threads} steps/repeat={a.steps}; "
          f"CPU has native bf16: {bf16_native('cpu')}", flush=True)
    # the plain baseline: per-image torchvision transforms, fp32 NCHW
    plain_dls = make_dataloaders(ds, size=a.size, bs=a.bs, seed=0, vflip=True,
                                 train_tfms=get_transforms(a.size, True, vflip=True),
                                 valid_tfms=get_transforms(a.size, False))
    fast_dls = make_dataloaders(ds, size=a.size, bs=a.bs, seed=0, vflip=True)   # ftbook's default pipeline
    m_plain = copy.deepcopy(base)
    learners = {'ftbook (channels-last fp32)': Learner(copy.deepcopy(base), fast_dls, metrics=(), lr=1e-4,
                                                       progress=False, device='cpu'),
                'ftbook + bf16 autocast training': Learner(copy.deepcopy(base), fast_dls, metrics=(), lr=1e-4,
                                                           progress=False, device='cpu')}
    extra = {'ftbook + bf16 autocast training': [MixedPrecision('bf16', allow_cpu=True)]}
    rates = {'plain fp32 loop': [], **{k: [] for k in learners}}; waits = {k: [] for k in rates}
    n = a.steps * a.bs
    for r in range(a.repeats + 1):
        names = list(rates) if r % 2 == 0 else list(rates)[::-1]
        for k in names:
            if k == 'plain fp32 loop': t, w = plain_train(m_plain, plain_dls.train, a.steps)
            else:
                learn, timer = learners[k], StepTimer()
                learn.dls.train = Limited(fast_dls.train, a.steps)
                learn.fit(1, sched='constant', cbs=[timer] + extra.get(k, []))
                learn.dls.train = fast_dls.train
                t, w = timer.elapsed, timer.wait
            if r: rates[k].append(n / t); waits[k].append(w / t)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print("\n== training (img/s, median of repeats; data-wait share of the step time)")
    for k in rates: print(f"  {k:34s} {med[k]:7.1f} img/s   waiting for data {100 * statistics.median(waits[k]):5.1f}%")
    for k in learners: print(f"  ratio {k} / plain: {med[k] / med['plain fp32 loop']:.2f}x")

    # inference: the same trained-for-a-bit weights, plain fp32 NCHW vs Learner.get_preds (channels-last + bf16)
    sub = fast_dls.valid_ds.subset(range(min(a.n_infer, len(fast_dls.valid_ds))))
    plain_valid = DataLoader(plain_dls.valid_ds.subset(range(len(sub))), 64)
    learn = learners['ftbook (channels-last fp32)']
    fast_valid = fast_dls.eval_loader(sub, bs=64)
    m_eval = copy.deepcopy(learn.model).to(memory_format=torch.contiguous_format)
    t_plain, t_fast = [], []
    for r in range(a.repeats + 1):
        t0 = time.perf_counter(); p32 = plain_predict(m_eval, plain_valid); tp = time.perf_counter() - t0
        t0 = time.perf_counter(); pbf = learn.get_preds(fast_valid)[0]; tf = time.perf_counter() - t0
        if r: t_plain.append(len(sub) / tp); t_fast.append(len(sub) / tf)
    ip, i_f = statistics.median(t_plain), statistics.median(t_fast)
    agree = (p32.argmax(1) == pbf.argmax(1)).float().mean().item()
    print("\n== inference (img/s, median of repeats)")
    print(f"  plain fp32 NCHW {ip:7.1f}   ftbook get_preds {i_f:7.1f}   ratio {i_f / ip:.2f}x")
    print(f"  same predicted class on {100 * agree:.1f}% of {len(sub)} images; "
          f"max |prob difference| {(p32 - pbf).abs().max().item():.4f}")

    # feature caching
    rates_f = []
    for r in range(3):
        t0 = time.perf_counter(); extract_features(base, fast_valid, 'cpu')
        if r: rates_f.append(len(sub) / (time.perf_counter() - t0))
    print(f"\n== feature caching (extract_features, pre-logits): {statistics.median(rates_f):.1f} img/s")

if __name__ == '__main__': main()
