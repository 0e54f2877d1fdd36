#!/usr/bin/env python
"""Latency of PyTorch eager versus onnxruntime on the CPU for one model (a benchmark, not a test).

Exports the model to ONNX (`ftbook.export.export_onnx`, which checks the logits against PyTorch), checks the parity
again on real images (skimage's photographs, or elpv solar cells with --elpv) through the evaluation transform, then
times both runtimes on the same batches, interleaved, and prints the median milliseconds per batch side by side with
their ratio. Both runtimes get the same number of threads.

    python bench/onnx_latency.py                                    # bundled EfficientNet-Lite0, 224 px, batch 1 and 32
    python bench/onnx_latency.py --threads 1 --repeats 20           # on a shared machine, one thread is steadier
    python bench/onnx_latency.py --model test_efficientnet --no-pretrained --size 64 --batch 1 8 64
"""
import argparse, json, tempfile
from pathlib import Path
import numpy as np
import torch
from ftbook.augment import get_transforms
from ftbook.data import image_to_uint8
from ftbook.export import compare_latency, export_onnx, onnx_parity, onnx_session
from ftbook.models import create_model, model_norm

def real_batch(model, size, n, elpv):
    "n real images through the evaluation transform: elpv cells, or skimage photographs (repeated)."
    mean, std = model_norm(model)
    tf = get_transforms(size, train=False, mean=mean, std=std)
    if elpv:
        from ftbook.data import load_elpv
        ds = load_elpv(n_classes=4)
        idx = np.random.default_rng(0).choice(len(ds), n, replace=False)
        return torch.stack([tf(ds.get_image(int(i))) for i in idx])
    from skimage import data as sk
    photos = [sk.chelsea(), sk.coffee(), sk.astronaut(), sk.rocket()]
    return torch.stack([tf(image_to_uint8(photos[i % len(photos)])) for i in range(n)])

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='efficientnet_lite0', help='timm architecture (efficientnet_lite0 has bundled weights)')
    p.add_argument('--no-pretrained', action='store_true', help='random weights (for architectures without offline weights)')
    p.add_argument('--classes', type=int, default=4, help='classes of the new head')
    p.add_argument('--size', type=int, default=224, help='image side in pixels')
    p.add_argument('--batch', type=int, nargs='+', default=[1, 32], help='batch sizes to time')
    p.add_argument('--repeats', type=int, default=10, help='timed runs per runtime and batch size')
    p.add_argument('--threads', type=int, default=None, help='threads for both runtimes (default: torch default)')
    p.add_argument('--legacy', action='store_true', help='use the deprecated TorchScript exporter (dynamo=False)')
    p.add_argument('--elpv', action='store_true', help='check parity on elpv images instead of skimage photographs')
    p.add_argument('--json', default=None, help='also write the results to this JSON file')
    a = p.parse_args()
    model = create_model(a.model, num_classes=a.classes, pretrained=not a.no_pretrained).eval()
    with tempfile.TemporaryDirectory() as d:
        f = export_onnx(model, Path(d)/'model.onnx', size=a.size, dynamo=not a.legacy)
        sess = onnx_session(f, a.threads)
        err = onnx_parity(model, sess, real_batch(model, a.size, 16, a.elpv))
        print(f"{a.model} at {a.size}px: max |logit difference| PyTorch vs ONNX on 16 real images = {err:.2e}")
        lat = compare_latency(model, sess, size=a.size, batch_sizes=a.batch, repeats=a.repeats, threads=a.threads)
    print(f"median ms per batch, {a.threads or torch.get_num_threads()} thread(s), {a.repeats} interleaved repeats:")
    print(lat.round(2).to_string())
    if a.json:
        Path(a.json).write_text(json.dumps(dict(model=a.model, size=a.size, threads=a.threads or torch.get_num_threads(),
                                                parity_max_abs=err, rows=lat.reset_index().to_dict('records')), indent=2))

if __name__ == '__main__': main()
