#!/usr/bin/env python
"""Training throughput of `ftbook.learner.Learner` versus a hand-written PyTorch loop (a benchmark, not a test).

Both train the same timm model (random init, no download) with the same AdamW parameter groups on the same in-memory
synthetic batches. Repeats alternate A/B and B/A so that load from other processes hits both; the first repeat of each
is warmup and is dropped. It reports the median images/s of the training phase of each (validation is not timed),
their ratio, and the median of the per-repeat ratios (each A/B pair ran back to back, so that one is the most robust
number on a busy machine: use many short repeats there).

    python bench/learner_vs_plain.py                                  # efficientnet_lite0, 128 px, bs 32, CPU
    python bench/learner_vs_plain.py --model test_efficientnet --size 64 --steps 20
    python bench/learner_vs_plain.py --device cuda --size 224 --bs 128
"""
import argparse, copy, statistics, time
from types import SimpleNamespace
import timm, torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from ftbook.core import get_device, set_seed
from ftbook.learner import Callback, Learner
from ftbook.optim import trainable_param_groups

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

class TrainTimer(Callback):
    "Wall time of the training phase of each epoch (from before_train to after_train)."
    def before_train(self): sync(self.learn.device); self.t0 = time.perf_counter()
    def after_train(self): sync(self.learn.device); self.elapsed = time.perf_counter() - self.t0

def run_learner(model, dls, lr, wd, timer):
    Learner(model, dls, loss_func=torch.nn.CrossEntropyLoss(), metrics=(), lr=lr, wd=wd, device=dls.device,
            cbs=[timer], progress=False).fit(1, sched='constant')
    return timer.elapsed

def run_plain(model, dls, lr, wd):
    opt = torch.optim.AdamW(trainable_param_groups(model, lr=lr, wd=wd))  # the same groups the Learner builds
    model.train(); sync(dls.device); t0 = time.perf_counter()
    for xb, yb in dls.train:
        xb, yb = xb.to(dls.device), yb.to(dls.device)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    sync(dls.device)
    return time.perf_counter() - t0

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='efficientnet_lite0', help='timm model name (created with pretrained=False)')
    p.add_argument('--size', type=int, default=128, help='image size in pixels')
    p.add_argument('--bs', type=int, default=32, help='batch size')
    p.add_argument('--steps', type=int, default=8, help='training steps per timed repeat')
    p.add_argument('--repeats', type=int, default=5, help='timed repeats of each loop (after one warmup each)')
    p.add_argument('--device', default=None, help="'cpu', 'cuda', ... (default: best available)")
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = get_device(a.device); set_seed(0)
    n = a.bs*a.steps
    x, y = torch.randn(n, 3, a.size, a.size), torch.randint(0, 10, (n,))  # (N, 3, H, W), (N,)
    dls = SimpleNamespace(train=DataLoader(TensorDataset(x, y), a.bs, shuffle=True, drop_last=True),
                          valid=DataLoader(TensorDataset(x[:a.bs], y[:a.bs]), a.bs), device=dev)
    base = timm.create_model(a.model, pretrained=False, num_classes=10)
    m_learn, m_plain = copy.deepcopy(base).to(dev), copy.deepcopy(base).to(dev)
    timer, res = TrainTimer(), {'learner': [], 'plain': []}
    print(f"{a.model} {a.size}px bs={a.bs} steps={a.steps} device={dev} threads={torch.get_num_threads()}", flush=True)
    for r in range(a.repeats + 1):  # repeat 0 is warmup
        order = ['learner', 'plain'] if r % 2 == 0 else ['plain', 'learner']
        for which in order:
            t = run_learner(m_learn, dls, 1e-3, 0.01, timer) if which == 'learner' else run_plain(m_plain, dls, 1e-3, 0.01)
            if r > 0: res[which].append(n / t)
        if r > 0: print(f"repeat {r}: learner {res['learner'][-1]:.1f} img/s, plain {res['plain'][-1]:.1f} img/s", flush=True)
    ml, mp = statistics.median(res['learner']), statistics.median(res['plain'])
    pair = statistics.median(l/p for l, p in zip(res['learner'], res['plain']))
    print(f"median: learner {ml:.1f} img/s, plain {mp:.1f} img/s, ratio learner/plain {ml/mp:.3f}, median per-repeat ratio {pair:.3f}")

if __name__ == '__main__': main()
