#!/usr/bin/env python
"""What one served prediction costs: a `Predictor` with test-time views on single images (a benchmark, not a test).

`ftbook-serve` answers one uploaded image at a time with the bundle's views (16 for the default `lp` run's
'dihedral2'). This times, interleaved on the same images, the ways a `Predictor` can run them:

- torch, one pass per view: the views of the image as 16 batches of one (how `Predictor` ran before);
- torch, one pass: the 16 views as one batch (`Predictor.view_logits`, now);
- onnxruntime, one pass: the same through the model's ONNX export (`load_bundle(..., backend='onnx')`).

and prints the median milliseconds per image, the ratios, and the largest difference in probabilities against the
fp32 PyTorch answer.

    python bench/predictor_latency.py                       # Lite0, 224 px, 'dihedral2', 2 threads, elpv cells
    python bench/predictor_latency.py --tta dihedral --repeats 30
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np
import torch
from ftbook.augment import view_batches
from ftbook.data import load_elpv
from ftbook.export import Predictor, export_onnx, onnx_session
from ftbook.models import create_model, model_norm

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='efficientnet_lite0')
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--tta', default='dihedral2', help='test-time views (a name in ftbook.augment.TTA_SETS)')
    p.add_argument('--images', type=int, default=8, help='distinct elpv images, each predicted alone')
    p.add_argument('--repeats', type=int, default=5, help='timed passes over the images per way')
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ds = load_elpv(n_classes=4)
    images = [ds.get_image(int(i)) for i in np.random.default_rng(0).choice(len(ds), a.images, replace=False)]
    model = create_model(a.model, num_classes=4, pretrained=True).eval()
    mean, std = model_norm(model)
    kw = dict(classes=list(ds.classes), size=a.size, mean=mean, std=std, tta=a.tta, device='cpu')
    torch_pred, ref_pred = Predictor(model, **kw), Predictor(model, **kw, precision='fp32')
    with tempfile.TemporaryDirectory() as d:
        onnx_pred = Predictor(onnx_session(export_onnx(model, Path(d)/'model.onnx', size=a.size), a.threads), **kw)

    def per_view(im):                                   # the views as batches of one, one model call each
        raw = torch_pred._stored([im]); whole = None if torch_pred.whole_eval is None else torch_pred.whole_eval(raw)
        vs = view_batches(torch_pred.batch_eval(raw), torch_pred.tta, whole)
        return torch.stack([torch_pred.logits(v) for v in vs]).softmax(-1).mean(0)
    ways = {'torch, one pass per view': per_view, 'torch, one pass': torch_pred.predict_proba,
            'onnxruntime, one pass': onnx_pred.predict_proba}
    ref = torch.cat([ref_pred.predict_proba(im) for im in images])
    times, diffs = {k: [] for k in ways}, {}
    for fn in ways.values(): fn(images[0])              # warm-up
    for _ in range(a.repeats):
        for k, fn in ways.items():                      # interleaved: a busy machine slows every way alike
            for im in images:
                t = time.perf_counter(); fn(im); times[k].append(time.perf_counter() - t)
    for k, fn in ways.items(): diffs[k] = (torch.cat([fn(im) for im in images]) - ref).abs().max().item()
    base = np.median(times['torch, one pass per view'])
    print(f"{a.model}, {a.size} px, tta={a.tta!r}, {a.threads} threads, {a.images} elpv images x {a.repeats} repeats, "
          "one image per call (median ms per image; max |probability - fp32 torch|):")
    for k in ways:
        m = np.median(times[k])
        print(f"  {k:<26} {m * 1000:7.1f} ms   {base / m:4.2f}x   {diffs[k]:.1e}")

if __name__ == '__main__': main()
