#!/usr/bin/env python
"""Reproduce ftbook's elpv result: EfficientNet-Lite0 (bundled ImageNet weights), 4 classes, a stratified 25% hold-out,
mean ± std over seeds (a benchmark, not a test).

Every seed uses the same split (`--split-seed`); the seed changes the head's initialisation, the shuffling and the
augmentation. Prints one line per run and the mean ± std table; with `--out`, writes runs.csv and summary.csv there.

The target run (224 px, 30 epochs, 3 seeds) needs a GPU (about 8 img/s on 2 CPU cores would take days):

    python bench/elpv_recipe.py --device cuda --size 224 --epochs 30 --seeds 0 1 2 --workers 8 --out runs/elpv_recipe

Compare strategies on the same split by naming several: `--strategy scratch probe full finetune`.
A smoke test of the whole pipeline on a CPU: `python bench/elpv_recipe.py --limit 96 --size 64 --epochs 2 --seeds 0`.
"""
import argparse, dataclasses, shlex, sys
from pathlib import Path
import torch
from ftbook.core import get_device
from ftbook.data import load_elpv, make_dataloaders, stratified_subsample
from ftbook.callbacks import MixedPrecision
from ftbook.models import model_norm
from ftbook.strategies import STRATEGIES, StrategyConfig, compare_strategies, new_model, summarize_runs
from ftbook.cli import add_arguments, finetune, _SET_BY_RUN

DATA = ('size', 'bs', 'valid_pct', 'limit', 'balanced', 'workers')   # the data settings of `ftbook-finetune`

def parse_args(argv=None):
    "The benchmark's own flags, then `ftbook-finetune`'s data flags and every StrategyConfig flag, with its defaults."
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    a = p.add_argument
    a('--strategy', nargs='+', default=['finetune'], choices=list(STRATEGIES), help='one or more strategies')
    a('--seeds', type=int, nargs='+', default=[0, 1, 2], help='one run per seed')
    a('--split-seed', type=int, default=0, help='seed of the stratified hold-out split (the same for every run)')
    a('--no-amp', action='store_true', help='train in float32 on CUDA (default: bf16 autocast)')
    a('--threads', type=int, default=None, help='torch CPU threads')
    a('--progress', action='store_true', help='show progress bars')
    a('--out', default=None, help='folder for runs.csv and summary.csv')
    add_arguments(p.add_argument_group('data (as ftbook-finetune)'), finetune, only=DATA,
                  defaults=dict(size=224, valid_pct=0.25))
    add_arguments(p.add_argument_group('training settings (StrategyConfig; the seed comes from --seeds)'),
                  StrategyConfig, skip=_SET_BY_RUN + ('seed',), defaults=dict(epochs=30))
    return p.parse_args(argv)

def main(argv=None):
    args = parse_args(argv)
    if args.mixup and args.cutmix: sys.exit('choose one of --mixup and --cutmix')
    if args.threads: torch.set_num_threads(args.threads)
    dev = get_device(args.device)
    ds = load_elpv(n_classes=4, size=min(300, int(args.size / 0.875) + 2))
    if args.limit: ds = ds.subset(stratified_subsample(ds.targets, args.limit, seed=args.split_seed))
    def callbacks(): return [MixedPrecision('bf16')] if dev.type == 'cuda' and not args.no_amp else []
    fields = {f.name for f in dataclasses.fields(StrategyConfig)}
    settings = {k: v for k, v in vars(args).items() if k in fields}   # every StrategyConfig flag, as parsed
    cfg = StrategyConfig(**dict(settings, device=str(dev)), cbs=callbacks)   # settings include --progress
    mean, std = model_norm(new_model(ds, cfg))
    dls = make_dataloaders(ds, valid_pct=args.valid_pct, size=args.size, bs=args.bs, mean=mean, std=std,
                           seed=args.split_seed, balanced=args.balanced, num_workers=args.workers)
    print(f"$ python bench/elpv_recipe.py {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print(f"{dls}; device={dev}", flush=True)
    runs = compare_strategies(dls, args.strategy, seeds=args.seeds, cfg=cfg)
    cols = ['strategy', 'seed', 'accuracy', 'macro_f1'] + [c for c in runs if c.startswith('recall_')] + ['seconds', 'peak_mem_mb']
    print(runs[cols].round(4).to_string(index=False))
    summary = summarize_runs(runs)
    for name, r in summary.iterrows():
        print(f"{name}: accuracy {100 * r[('accuracy', 'mean')]:.1f} ± {100 * (r[('accuracy', 'std')] if r[('n_seeds', '')] > 1 else 0):.1f}%, "
              f"macro-F1 {100 * r[('macro_f1', 'mean')]:.1f} ± {100 * (r[('macro_f1', 'std')] if r[('n_seeds', '')] > 1 else 0):.1f} "
              f"over {int(r[('n_seeds', '')])} seed(s); {r[('seconds', 'mean')]:.0f} s per run; peak memory "
              f"{r[('peak_mem_mb', 'mean')]:.0f} MB ({runs.attrs['memory']})")
    if args.out:
        out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
        runs.to_csv(out/'runs.csv', index=False); summary.to_csv(out/'summary.csv')
        print(f"wrote {out/'runs.csv'} and {out/'summary.csv'}")
    return runs

if __name__ == '__main__': main()
