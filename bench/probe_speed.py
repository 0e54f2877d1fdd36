#!/usr/bin/env python
"""Epoch time of a linear probe on cached features versus an end-to-end frozen probe (a benchmark, not a test).

Both train the head of the bundled ImageNet EfficientNet-Lite0 on the same elpv training images with the same
batch size, optimizer and number of epochs. The end-to-end probe runs the frozen backbone on augmented images in
every epoch; the cached probe runs it once (`cache_features`, timed separately) and then trains on stored features.
Reported: the median epoch time of each (training and validation, as `learn.history['time']`), their ratio, the
one-off extraction time, and the number of epochs after which caching has paid for itself.

    python bench/probe_speed.py                                   # 128 px, 2 epochs each, all 2,624 images, CPU
    python bench/probe_speed.py --size 96 --limit 640 --threads 1 # a quicker CPU run on a stratified subset
    python bench/probe_speed.py --device cuda --size 224 --epochs 3
"""
import argparse, statistics, time
import torch
from ftbook.core import get_device
from ftbook.data import load_elpv, make_dataloaders, stratified_subsample
from ftbook.models import freeze, model_norm
from ftbook.features import cache_features, probe_head
from ftbook.strategies import StrategyConfig, new_model, strategy_learner

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=128, help='image size in pixels')
    p.add_argument('--bs', type=int, default=32, help='batch size')
    p.add_argument('--epochs', type=int, default=2, help='epochs of each probe (the median epoch time is reported)')
    p.add_argument('--limit', type=int, default=None, help='use a stratified subset of this many images')
    p.add_argument('--valid-pct', type=float, default=0.25, help='stratified hold-out share')
    p.add_argument('--device', default=None, help="'cpu', 'cuda', ... (default: best available)")
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    ds = load_elpv(n_classes=4, size=min(300, int(a.size / 0.875) + 2))
    if a.limit: ds = ds.subset(stratified_subsample(ds.targets, a.limit, seed=0))
    cfg = StrategyConfig(epochs=a.epochs, device=str(dev), sched='constant', seed=0)
    mean, std = model_norm(new_model(ds, cfg))
    dls = make_dataloaders(ds, valid_pct=a.valid_pct, size=a.size, bs=a.bs, mean=mean, std=std, seed=0)
    print(f"efficientnet_lite0 {a.size}px bs={a.bs} {len(dls.train_ds)} train / {len(dls.valid_ds)} valid images, "
          f"device={dev} threads={torch.get_num_threads()}", flush=True)

    m = freeze(new_model(dls, cfg))                                     # end to end: the backbone runs every epoch
    e2e = strategy_learner(m, dls, cfg).fit(a.epochs, sched='constant', seed=0)
    t_e2e = statistics.median(r['time'] for r in e2e.history)
    print(f"end-to-end frozen probe: {[round(r['time'], 2) for r in e2e.history]} s per epoch", flush=True)

    m = freeze(new_model(dls, cfg))                                     # cached: the backbone runs once
    t0 = time.perf_counter(); fdls = cache_features(m, dls, device=dev); t_extract = time.perf_counter() - t0
    cached = strategy_learner(probe_head(m), fdls, cfg).fit(a.epochs, sched='constant', seed=0)
    t_cached = statistics.median(r['time'] for r in cached.history)
    print(f"cached-feature probe: extraction {t_extract:.2f} s once, then {[round(r['time'], 4) for r in cached.history]} s per epoch")
    print(f"median epoch: end-to-end {t_e2e:.2f} s, cached {t_cached:.4f} s, ratio {t_e2e / t_cached:.0f}x; "
          f"caching pays for itself after {t_extract / max(t_e2e - t_cached, 1e-9):.2f} epochs")

if __name__ == '__main__': main()
