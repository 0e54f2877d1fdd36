#!/usr/bin/env python
"""Time data-parallel training steps of the ftbook Learner under torchrun (gloo on CPU, NCCL on GPU).

For each model it trains a few steps on synthetic images with `DistributedCallback` (fixed global batch, split over
the processes), and reports the median time per step (after warmup) and the time of one all-reduce of a tensor as
large as the model's gradients. Rank 0 prints one line per model and a `RESULT {json}` line for `--compare`.

    torchrun --standalone --nproc_per_node 2 tools/ddp_demo.py --steps 6      # one world size
    python tools/ddp_demo.py --compare --steps 6                               # 1 process (1 and 2 threads) vs 2 processes

Models: `tiny` (an MLP on 2x2-pooled images: ~1 k parameters, almost no compute), `wide` (an MLP on 32x32 images:
8.4 M parameters, little compute per parameter), `resnet18` (timm, random init, 64 px: 11.2 M parameters, much more
compute per parameter). On a CPU each process uses one thread unless --threads says otherwise.
"""
import argparse, json, statistics, sys, time, warnings
from pathlib import Path
from types import SimpleNamespace
import torch
from torch import nn
import torch.distributed as dist
from torch.utils.data import DataLoader, TensorDataset

def build(name):
    "(model, input image size) for a model name."
    torch.manual_seed(0)
    if name == 'tiny': return nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 10)), 32
    if name == 'wide': return nn.Sequential(nn.Flatten(), nn.Linear(3*32*32, 2048), nn.ReLU(), nn.Linear(2048, 1024), nn.ReLU(), nn.Linear(1024, 10)), 32
    if name == 'resnet18':
        import timm
        return timm.create_model('resnet18', pretrained=False, num_classes=10), 64
    raise ValueError(f"unknown model {name!r}: use tiny, wide or resnet18")

def measure(name, bs, steps, warmup, device):
    from ftbook.learner import Callback, Learner
    from ftbook.distributed import DistributedCallback, dist_env
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    class StepTimer(Callback):
        def before_fit(self): self.times = []
        def before_batch(self): sync(); self.t0 = time.perf_counter()
        def after_batch(self): sync(); self.times.append(time.perf_counter() - self.t0)
    model, size = build(name)
    n = bs*(steps + warmup)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, size, size, generator=g), torch.randint(0, 10, (n,), generator=g)  # (n, 3, H, W), (n,)
    dls = SimpleNamespace(train=DataLoader(TensorDataset(x, y), bs, shuffle=True, drop_last=True),
                          valid=DataLoader(TensorDataset(x[:bs], y[:bs]), bs))
    timer = StepTimer()
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*BatchNorm.*')  # resnet18's BatchNorm: fine for timing
        Learner(model, dls, lr=1e-3, device=device, progress=False, cbs=[DistributedCallback(), timer]).fit(1, sched='constant')
    n_params = sum(p.numel() for p in model.parameters())
    world = dist_env()[2]
    buf = torch.randn(n_params, device=device)
    ar = []
    for _ in range(5):  # one all-reduce of the gradients' size, timed alone
        sync(); t0 = time.perf_counter()
        if world > 1: dist.all_reduce(buf)
        sync(); ar.append(time.perf_counter() - t0)
    return dict(model=name, params=n_params, grad_mb=n_params*4/1e6, world=world, threads=torch.get_num_threads(), bs=bs,
                ms_step=1e3*statistics.median(timer.times[warmup:]), ms_allreduce=1e3*statistics.median(ar[1:]))

def worker(a):
    from ftbook.distributed import init_distributed, dist_env, dist_device
    if a.threads: torch.set_num_threads(a.threads)
    device = dist_device() if a.device == 'cuda' else torch.device('cpu')
    init_distributed('nccl' if device.type == 'cuda' else 'gloo')
    for name in a.models.split(','):
        r = measure(name, a.bs, a.steps, a.warmup, device)
        if dist_env()[0] == 0:
            print(f"{r['model']:>9} {r['params']/1e6:7.3f} M params  world={r['world']} threads={r['threads']}  "
                  f"{r['ms_step']:8.1f} ms/step  all-reduce of {r['grad_mb']:.1f} MB: {r['ms_allreduce']:7.2f} ms", flush=True)
            print('RESULT ' + json.dumps(r), flush=True)
    if dist.is_initialized(): dist.destroy_process_group()

def compare(a):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ftbook.distributed import run_torchrun
    args = ['--models', a.models, '--bs', a.bs, '--steps', a.steps, '--warmup', a.warmup, '--device', a.device]
    runs = {}
    for label, nproc, threads in [('1 proc x 1 thread', 1, 1), ('1 proc x 2 threads', 1, 2), ('2 procs x 1 thread', 2, 1)]:
        out = run_torchrun(Path(__file__), *args, '--threads', threads, nproc=nproc, threads=threads, timeout=900)
        runs[label] = {r['model']: r for r in (json.loads(l[7:]) for l in out.splitlines() if l.startswith('RESULT '))}
        print(out.replace('RESULT ', '# '), flush=True)
    one, two = runs['1 proc x 1 thread'], runs['2 procs x 1 thread']
    print("\n| model | parameters | gradients | 1 process | 1 process, 2 threads | 2 processes | speed-up (2 proc) | all-reduce (2 proc) |")
    print("|---|---|---|---|---|---|---|---|")
    for m in one:
        print(f"| {m} | {one[m]['params']/1e6:.3g} M | {one[m]['grad_mb']:.3g} MB | {one[m]['ms_step']:.1f} ms | "
              f"{runs['1 proc x 2 threads'][m]['ms_step']:.1f} ms | {two[m]['ms_step']:.1f} ms | "
              f"{one[m]['ms_step']/two[m]['ms_step']:.2f}x | {two[m]['ms_allreduce']:.1f} ms |")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--models', default='tiny,wide,resnet18', help='comma-separated: tiny, wide, resnet18')
    p.add_argument('--bs', type=int, default=32, help='global batch size (split over the processes)')
    p.add_argument('--steps', type=int, default=6, help='timed steps')
    p.add_argument('--warmup', type=int, default=2, help='untimed first steps')
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (one GPU per process)")
    p.add_argument('--threads', type=int, default=1, help='torch threads per process')
    p.add_argument('--compare', action='store_true', help='launch torchrun with 1 and 2 processes and print a table')
    a = p.parse_args()
    compare(a) if a.compare else worker(a)
