#!/usr/bin/env python
"""How fast can the default probe's feature pass run on this CPU? PyTorch against onnxruntime (a benchmark, not a test).

The default `lp` recipe spends most of its time in one pass of the frozen backbone over every image in 16 views
(`ftbook.features.extract_features`, which runs it in onnxruntime fp32 on a CPU since this benchmark measured the
ratio below; `backend='torch'` runs PyTorch: bf16 autocast where the CPU has it, channels-last). This times that model
(EfficientNet-Lite0 with the default layer features, classifier removed, so the output is the probe's features) on
real elpv batches through the evaluation transform, side by side and interleaved:

- torch: exactly what `extract_features(..., backend='torch')` runs (`perf.autocast_for`, channels-last);
- onnxruntime fp32: the same model exported with `ftbook.export.export_onnx`;
- onnxruntime int8: that export quantised statically (QDQ, per-channel int8 weights, uint8 activations) with
  calibration on `--calib` other elpv images.

It prints images per second (median over repeats), the ratio to torch, and how far each runtime's features are from
fp32 PyTorch's (largest relative error per image, ‖f − f_fp32‖ / ‖f_fp32‖). Whether int8 features keep the probe's
accuracy is not measured here.

    python bench/feature_pass_speed.py --threads 2
"""
import argparse, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch
from ftbook.core import get_device
from ftbook.data import load_elpv, make_dataloaders
from ftbook.export import export_onnx, onnx_session
from ftbook.features import add_layer_features, default_feature_layers
from ftbook.models import create_model, model_norm
from ftbook.perf import autocast_for

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--batches', type=int, default=4, help='timed batches per repeat')
    p.add_argument('--calib', type=int, default=64, help='calibration images for int8 (not among the timed ones)')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--threads', type=int, default=None)
    a = p.parse_args()
    warnings.filterwarnings('ignore')
    if a.threads: torch.set_num_threads(a.threads)
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    m = create_model('efficientnet_lite0', num_classes=4, pretrained=True).eval()
    add_layer_features(m, default_feature_layers(m))
    m.classifier = torch.nn.Identity()                                               # output: the probe's features
    mean, std = model_norm(m)
    dls = make_dataloaders(load_elpv(), 0.2, a.size, bs=a.bs, mean=mean, std=std, seed=0)
    it = iter(dls.eval_loader(bs=a.bs))
    xs = [next(it)[0] for _ in range(a.batches + -(-a.calib // a.bs))]
    calib, xs = torch.cat(xs[a.batches:])[:a.calib], xs[:a.batches]
    with torch.no_grad(): ref = [m(x) for x in xs]                                      # fp32 PyTorch features
    d = Path(tempfile.mkdtemp())
    f32 = export_onnx(m, d/'fp32.onnx', a.size)
    quant_pre_process(str(f32), str(d/'pre.onnx'))
    class Calib(CalibrationDataReader):
        def __init__(self): self.it = iter([{'image': calib[i:i + 1].numpy()} for i in range(len(calib))])
        def get_next(self): return next(self.it, None)
    quantize_static(str(d/'pre.onnx'), str(d/'int8.onnx'), Calib(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    threads = torch.get_num_threads()
    s32, s8 = onnx_session(f32, threads), onnx_session(d/'int8.onnx', threads)
    dev = get_device('cpu'); autocast = autocast_for(dev, 'auto')
    mc = m.to(memory_format=torch.channels_last)
    def torch_run(x):
        with torch.no_grad(), autocast(): return mc(x.contiguous(memory_format=torch.channels_last)).float()
    runs = {'torch (extract_features)': torch_run,
            'onnxruntime fp32': lambda x: torch.from_numpy(s32.run(None, {'image': x.numpy()})[0]),
            'onnxruntime int8': lambda x: torch.from_numpy(s8.run(None, {'image': x.numpy()})[0])}
    err = {n: max(((f(x) - r).norm(dim=1) / r.norm(dim=1)).max().item() for x, r in zip(xs, ref))
           for n, f in runs.items()}
    speed = {n: [] for n in runs}
    for _ in range(a.repeats):
        for n, f in runs.items():
            f(xs[0]); t0 = time.perf_counter()
            for x in xs: f(x)
            speed[n].append(sum(len(x) for x in xs) / (time.perf_counter() - t0))
    base = np.median(speed['torch (extract_features)'])
    print(f"EfficientNet-Lite0 + layer features {default_feature_layers(m)}, {a.size} px, batch {a.bs}, "
          f"{threads} threads, {a.repeats} interleaved repeats of {a.batches} real elpv batches")
    for n, v in speed.items():
        print(f"  {n:<26} {np.median(v):6.0f} img/s  ({np.median(v) / base:.2f}× torch; range {min(v):.0f}-{max(v):.0f})"
              f"  features' largest relative error vs fp32 torch {err[n]:.1e}")

if __name__ == '__main__': main()
