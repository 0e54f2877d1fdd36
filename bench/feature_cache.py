#!/usr/bin/env python
"""What does the resumable feature pass cost? `extract_features` with and without `cache` (a benchmark, not a test).

The default `lp` run of `ftbook-finetune` passes `cache=RUN/checkpoints/features/...` to its feature passes, so that
an interrupted run resumes from the last saved batch (`ftbook.features.extract_features`). The cache adds checksums
of every input view and a file of the finished batches every `CACHE_EVERY` seconds. This times the default pass
(EfficientNet-Lite0 with the default layer features, 224 px, the 16 views of 'dihedral2', the default backend) over
the first `--images` elpv training images, without and with a cache (a fresh folder each time), interleaved, and
prints the median seconds of each and their ratio; then a pass that finds everything cached.

    python bench/feature_cache.py --images 320 --repeats 3
"""
import argparse, shutil, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch
from ftbook.data import load_elpv, make_dataloaders
from ftbook.features import extract_features, add_layer_features, default_feature_layers
from ftbook.models import create_model, model_norm, freeze

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=320)
    p.add_argument('--repeats', type=int, default=3)
    a = p.parse_args()
    warnings.filterwarnings('ignore')
    m = freeze(create_model('efficientnet_lite0', num_classes=4, pretrained=True))
    add_layer_features(m, default_feature_layers(m))
    mean, std = model_norm(m)
    dls = make_dataloaders(load_elpv(), 0.2, 224, bs=32, mean=mean, std=std, seed=42)
    dl = dls.eval_loader(dls.train_ds.subset(np.arange(a.images)))
    root = Path(tempfile.mkdtemp())
    extract_features(m, dl, tta='dihedral2')                                         # warm-up (and the ONNX export)
    times, ref = {'no cache': [], 'cache': []}, None
    for r in range(a.repeats):
        for name in ('no cache', 'cache') if r % 2 == 0 else ('cache', 'no cache'):
            folder = root/f'{name}{r}' if name == 'cache' else None
            t0 = time.perf_counter(); f, _ = extract_features(m, dl, tta='dihedral2', cache=folder)
            times[name].append(time.perf_counter() - t0)
            if ref is None: ref = f
            assert torch.equal(f, ref)
    t0 = time.perf_counter(); f, _ = extract_features(m, dl, tta='dihedral2', cache=root/'cache0')
    all_cached = time.perf_counter() - t0                                           # read back, never computed
    assert torch.equal(f, ref)
    med = {k: float(np.median(v)) for k, v in times.items()}
    size = sum(f.stat().st_size for f in (root/'cache0').glob('part-*.pt'))
    print(f"{a.images} elpv images x 16 views, EfficientNet-Lite0 + layer features, 224 px, {torch.get_num_threads()} "
          f"threads, {a.repeats} interleaved repeats (median seconds)")
    print(f"  no cache {med['no cache']:.1f} s ({times['no cache']}), cache {med['cache']:.1f} s ({times['cache']}): "
          f"ratio {med['cache'] / med['no cache']:.3f}; cache files {size / 2**20:.0f} MiB")
    print(f"  a pass that finds everything cached: {all_cached:.1f} s; the features equal in every pass")
    shutil.rmtree(root)

if __name__ == '__main__':
    main()
