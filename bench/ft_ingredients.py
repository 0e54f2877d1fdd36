#!/usr/bin/env python
"""Fine-tuning ingredients measured on elpv: EMA, train low/test high, LP-FT, backbone rates, unfreezing (a benchmark).

For every seed, the split of `ftbook-finetune --seed S` (stratified `--valid-pct`, 20% by default) and the
`finetune` strategy (1 head-only epoch, then every layer with discriminative lrs; 3 epochs at 128 px, the budget of
the fine-tuning tutorial) are trained twice: plain, and with `ema=DECAY` (`ftbook.callbacks.EMA`). Each trained
model is evaluated on the same held-out images at every `--test-sizes` side (training always at `--size`), so the
test-size comparison needs no extra training. With `--variants lpft`, LP-FT is measured too: the `lp` probe (8
views, C/τ by CV) as the starting head instead of the head-only epoch, then `--epochs` - 1 epochs of every layer (so
the same number of full epochs as `finetune`), evaluated with and without the probe's test-time views. The seed
claims about backbone learning rates and unfreezing are measured with the same budget: `full` (`finetune` without
its head-only epoch: every layer from the start, discriminative lrs), `one-lr` (the same with one lr for every
layer, `lr_mult=1, decay=1`: against `full`, the backbone rates alone) and `gradual` (one more layer group unfrozen
every epoch). Prints one line per run, then mean ± std over seeds and the paired per-seed differences against the
plain run evaluated at `--size`.

    python bench/ft_ingredients.py --seeds 42 43 44 --ema 0.99 --test-sizes 128 160
    python bench/ft_ingredients.py --seeds 42 43 44 --variants finetune lpft
    python bench/ft_ingredients.py --seeds 42 43 44 --variants finetune full one-lr gradual --test-sizes 128
"""
import argparse, time
import pandas as pd
from ftbook.data import load_elpv, make_dataloaders
from ftbook.metrics import accuracy, macro_f1
from ftbook.models import create_model, model_norm
from ftbook.strategies import StrategyConfig, train_strategy, paired_differences

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--ema', type=float, default=0.99)
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--test-sizes', type=int, nargs='+', default=[128, 160])
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--valid-pct', type=float, default=0.2)
    p.add_argument('--model', default='efficientnet_lite0')
    p.add_argument('--variants', nargs='+', default=['finetune', 'ema'],
                   choices=['finetune', 'ema', 'lpft', 'full', 'one-lr', 'gradual'])
    a = p.parse_args()
    ds = load_elpv()
    mean, std = model_norm(create_model(a.model, num_classes=len(ds.classes)))
    cfg = StrategyConfig(model=a.model, epochs=a.epochs, freeze_epochs=1)
    rows = []
    for seed in a.seeds:
        dls = make_dataloaders(ds, valid_pct=a.valid_pct, size=a.size, bs=32, mean=mean, std=std, seed=seed)
        evals = {t: make_dataloaders(ds, valid_pct=a.valid_pct, size=a.size, bs=32, mean=mean, std=std, seed=seed,
                                     valid_size=t).valid for t in a.test_sizes}
        def record(variant, probs, targs, secs):
            r = dict(variant=variant, seed=seed, accuracy=accuracy(probs, targs), macro_f1=macro_f1(probs, targs),
                     train_seconds=secs)
            rows.append(r)
            print(f"{variant:<36} seed {seed}: accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
                  f"({secs:.0f}s training)", flush=True)
        for v in a.variants:
            name, ema = {'finetune': ('finetune', 0.), 'ema': (f'finetune + EMA {a.ema}', a.ema),
                         'lpft': ('lpft', 0.), 'full': ('full (discriminative lrs)', 0.),
                         'one-lr': ('full, one lr for every layer', 0.), 'gradual': ('gradual', 0.)}[v]
            t0 = time.perf_counter()
            if v == 'lpft': learn = train_strategy('lpft', dls, cfg, seed=seed, epochs=max(a.epochs - 1, 1))
            elif v in ('full', 'gradual'): learn = train_strategy(v, dls, cfg, seed=seed)
            elif v == 'one-lr': learn = train_strategy('full', dls, cfg, seed=seed, lr_mult=1., decay=1.)
            else: learn = train_strategy('finetune', dls, cfg, seed=seed, ema=ema)
            secs = time.perf_counter() - t0
            if v == 'lpft':
                record(f'lpft, test-time views {learn.tta}', *learn.get_preds(evals[a.size], tta=learn.tta)[:2], secs)
                record('lpft, no test-time views', *learn.get_preds(evals[a.size])[:2], secs)
                continue
            for t, dl in evals.items():
                if ema and t != a.size: continue
                record(name if t == a.size else f'{name}, tested at {t} px', *learn.get_preds(dl)[:2], secs)
    runs = pd.DataFrame(rows)
    paired = 'finetune' in a.variants
    print(f"\nmean ± std over seeds {a.seeds} ({a.valid_pct:.0%} stratified hold-out, {a.model}, trained at {a.size} px, "
          f"{a.epochs} epochs); paired difference against plain `finetune` tested at {a.size} px:")
    for v, g in runs.groupby('variant', sort=False):
        line = (f"  {v:<36} accuracy {g.accuracy.mean():.3f} ± {g.accuracy.std():.3f}  macro-F1 {g.macro_f1.mean():.3f}"
                f" ± {g.macro_f1.std():.3f}")
        if paired:
            d = paired_differences(runs, [(v, 'finetune')], by='variant').set_index('metric')
            line += (f"  | diff accuracy {d.loc['accuracy', 'mean']:+.3f} ± {d.loc['accuracy', 'std']:.3f} "
                     f"{d.loc['accuracy', 'per_seed']}, macro-F1 {d.loc['macro_f1', 'mean']:+.3f} ± "
                     f"{d.loc['macro_f1', 'std']:.3f}")
        print(line)

if __name__ == '__main__': main()
