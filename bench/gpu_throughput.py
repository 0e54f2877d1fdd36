#!/usr/bin/env python
"""Training throughput on one device: the ftbook Learner against a plain PyTorch loop, and the end-to-end input path
against the synthetic-batch ceiling (a benchmark, not a test).

For every model, in eager mode and (with --compile) under torch.compile, it times four variants that train the same
model with AdamW, bf16 autocast (`ftbook.callbacks.MixedPrecision` for the Learner, `torch.autocast` for the plain loop)
and channels_last inputs:

- `plain synthetic`: a hand-written loop on one fixed batch already on the device (the ceiling);
- `learner synthetic`: `Learner.fit` on the same fixed batch;
- `plain e2e` / `learner e2e`: batches drawn from a uint8 image cache on the device (decoded once: elpv, or random
  images), with random-resized-crop + horizontal flip + normalisation done on the device by one `grid_sample`.

Variants are interleaved (the order rotates every repeat); the first repeat is warmup (and compilation) and is dropped.
Each timed repeat runs --steps optimizer steps between two device synchronisations; validation is not timed. It
prints the median images/s of each variant and the ratios learner/plain (target >= 0.97) and e2e/synthetic
(target >= 0.8).

    python bench/gpu_throughput.py --device cuda --model resnet18,vit_tiny_patch16_224 --bs 256 --size 224 --compile
    python bench/gpu_throughput.py --device cpu --model resnet18 --bs 8 --size 64 --steps 3      # proves it runs

Reference (plain timm loop, H100, 224 px, batch 256, bf16 + channels_last): ResNet-18 12.0k img/s eager, 16.1k
compiled; ViT-Tiny 8.2k / 12.8k.
"""
import argparse, math, statistics, time, warnings
from types import SimpleNamespace
import timm, torch
import torch.nn.functional as F
from ftbook.callbacks import MixedPrecision
from ftbook.learner import Callback, Learner

REFERENCE_H100 = {'resnet18': (12_000, 16_100), 'vit_tiny_patch16_224': (8_200, 12_800)}  # img/s eager, compiled
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

# ---- device-side augmentation --------------------------------------------------------------------------------------
def crop_flip_theta(n, aspect, scale=(0.08, 1.), ratio=(3/4, 4/3), flip_p=0.5, device='cpu'):
    """(n, 2, 3) affine matrices for `F.affine_grid`: random-resized crops (torchvision's area/ratio law, clamped to the
    image instead of torchvision's rejection sampling) and horizontal flips."""
    area = torch.empty(n, device=device).uniform_(*scale)                                   # crop area / image area
    r = torch.exp(torch.empty(n, device=device).uniform_(math.log(ratio[0]), math.log(ratio[1])))  # crop width / height (px)
    w = torch.sqrt(area * r / aspect).clamp(max=1.)   # crop width as a fraction of the image width (aspect = W/H)
    h = torch.sqrt(area / r * aspect).clamp(max=1.)   # crop height as a fraction of the image height
    cx, cy = (torch.rand(n, device=device)*2 - 1)*(1 - w), (torch.rand(n, device=device)*2 - 1)*(1 - h)  # centres in [-1, 1]
    sx = torch.where(torch.rand(n, device=device) < flip_p, -w, w)                         # negative x scale = mirror
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx, cx, h, cy
    return theta

def augment(x_u8, size, theta, mean=MEAN, std=STD):
    "(B, C, H, W) uint8 -> (B, C, size, size) normalised float, channels_last: one bilinear `grid_sample` for the batch."
    B, C = x_u8.shape[:2]
    grid = F.affine_grid(theta, (B, C, size, size), align_corners=False)                   # (B, size, size, 2)
    x = F.grid_sample(x_u8.float(), grid, mode='bilinear', padding_mode='reflection', align_corners=False)
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)*255; s = torch.tensor(std, device=x.device).view(1, -1, 1, 1)*255
    return ((x - m)/s).contiguous(memory_format=torch.channels_last)

def self_check():
    "The identity crop returns the normalised image; a flip mirrors it; crops stay inside the image."
    x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    eye = torch.tensor([[1., 0, 0], [0, 1, 0]]).expand(2, 2, 3)
    ref = (x.float() - torch.tensor(MEAN).view(1, 3, 1, 1)*255)/(torch.tensor(STD).view(1, 3, 1, 1)*255)
    assert torch.allclose(augment(x, 8, eye), ref, atol=1e-4)
    flip = eye.clone(); flip[:, 0, 0] = -1
    assert torch.allclose(augment(x, 8, flip), ref.flip(-1), atol=1e-4)
    th = crop_flip_theta(1000, aspect=1.5)
    assert (th[:, 0, 0].abs() + th[:, 0, 2].abs() <= 1 + 1e-6).all() and (th[:, 1, 1] + th[:, 1, 2].abs() <= 1 + 1e-6).all()

# ---- loaders: anything with __iter__ and __len__ works for the Learner ---------------------------------------------
class FixedBatches:
    "The same device-resident batch `steps` times (the synthetic ceiling)."
    def __init__(self, x, y, steps): self.x, self.y, self.steps = x, y, steps
    def __len__(self): return self.steps
    def __iter__(self): return ((self.x, self.y) for _ in range(self.steps))

class CachedAugmented:
    "Batches drawn without replacement from a uint8 image cache on the device, augmented on the device."
    def __init__(self, cache, labels, bs, steps, size):
        self.cache, self.labels, self.bs, self.steps, self.size = cache, labels, bs, steps, size
        self.aspect = cache.shape[-1]/cache.shape[-2]
    def __len__(self): return self.steps
    def __iter__(self):
        n, dev = len(self.cache), self.cache.device
        perm = torch.randperm(n, device=dev)
        for k in range(self.steps):
            if (k+1)*self.bs > len(perm): perm = torch.cat([perm, torch.randperm(n, device=dev)])  # next epoch
            idx = perm[k*self.bs:(k+1)*self.bs]
            theta = crop_flip_theta(self.bs, self.aspect, device=dev)
            yield augment(self.cache[idx], self.size, theta), self.labels[idx]

def image_cache(kind, n, dev, n_classes):
    "(uint8 images (n, 3, H, W), labels (n,)) on `dev`: elpv (decoded once, grey -> 3 channels) or random 256 px images."
    if kind == 'elpv':
        from ftbook.data import load_elpv
        ds = load_elpv()
        n = min(n, len(ds))
        x = torch.stack([ds.get_image(i) for i in range(n)])                                   # (n, 3, 300, 300)
        y = torch.as_tensor(ds.targets[:n]) % n_classes
    else:
        g = torch.Generator().manual_seed(0)
        x = torch.randint(0, 256, (n, 3, 256, 256), dtype=torch.uint8, generator=g)
        y = torch.randint(0, n_classes, (n,), generator=g)
    return x.to(dev), y.to(dev)

# ---- the two training loops ---------------------------------------------------------------------------------------
class TrainTimer(Callback):
    "Wall time of each epoch's training phase (before_train to after_train, device synchronised)."
    def before_train(self): sync(self.learn.device); self.t0 = time.perf_counter()
    def after_train(self): sync(self.learn.device); self.elapsed = time.perf_counter() - self.t0

def run_plain(model, dl, dev, lr, amp):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train(); sync(dev); t0 = time.perf_counter()
    for xb, yb in dl:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(xb), yb)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    sync(dev)
    return time.perf_counter() - t0

def run_learner(model, dl, valid, dev, lr, amp):
    timer = TrainTimer()
    cbs = [timer] + ([MixedPrecision('bf16', allow_cpu=dev.type == 'cpu')] if amp else [])
    learn = Learner(model, SimpleNamespace(train=dl, valid=valid), metrics=(), lr=lr, device=dev, cbs=cbs, progress=False)
    learn.fit(1, sched='constant')
    return timer.elapsed

def bench_model(name, a, dev, cache, labels):
    kw = dict(img_size=a.size) if name.startswith('vit') else {}
    base = timm.create_model(name, pretrained=False, num_classes=a.classes, **kw).to(dev).to(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.bs, 3, a.size, a.size, generator=g).to(dev).contiguous(memory_format=torch.channels_last)  # (B, 3, H, W)
    y = torch.randint(0, a.classes, (a.bs,), generator=g).to(dev)
    fixed, valid = FixedBatches(x, y, a.steps), FixedBatches(x, y, 1)
    e2e = CachedAugmented(cache, labels, a.bs, a.steps, a.size)
    rows = {}
    for mode in ['eager'] + (['compiled'] if a.compile else []):
        model = torch.compile(base, mode=a.compile_mode) if mode == 'compiled' else base
        variants = {'plain synthetic': lambda: run_plain(model, fixed, dev, a.lr, a.amp),
                    'learner synthetic': lambda: run_learner(model, fixed, valid, dev, a.lr, a.amp),
                    'plain e2e': lambda: run_plain(model, e2e, dev, a.lr, a.amp),
                    'learner e2e': lambda: run_learner(model, e2e, valid, dev, a.lr, a.amp)}
        res = {k: [] for k in variants}
        names = list(variants)
        for r in range(a.repeats + 1):  # repeat 0: warmup (and compilation)
            order = names[r % len(names):] + names[:r % len(names)]
            for k in order:
                t = variants[k]()
                if r > 0: res[k].append(a.bs*a.steps/t)
        rows[mode] = {k: statistics.median(v) for k, v in res.items()}
        print(f"  {name} {mode}: " + ', '.join(f"{k} {v:,.0f}" for k, v in rows[mode].items()) + ' img/s', flush=True)
    return rows

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='resnet18,vit_tiny_patch16_224', help='comma-separated timm names (random init)')
    p.add_argument('--bs', type=int, default=256)
    p.add_argument('--size', type=int, default=224, help='image side the model sees')
    p.add_argument('--steps', type=int, default=50, help='optimizer steps per timed repeat')
    p.add_argument('--repeats', type=int, default=5, help='timed repeats per variant (after one warmup)')
    p.add_argument('--compile', action='store_true', help='also measure under torch.compile')
    p.add_argument('--compile-mode', default=None, help="torch.compile mode, e.g. 'max-autotune'")
    p.add_argument('--device', default='cuda')
    p.add_argument('--data', default='synthetic', choices=['synthetic', 'elpv'], help='uint8 cache: random 256 px images or elpv')
    p.add_argument('--cache-images', type=int, default=2048, help='images in the uint8 cache')
    p.add_argument('--classes', type=int, default=1000)
    p.add_argument('--lr', type=float, default=1e-4)
    p.add_argument('--no-amp', dest='amp', action='store_false', help='train in float32 instead of bf16 autocast')
    a = p.parse_args()
    self_check()
    dev = torch.device(a.device)
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    cache, labels = image_cache(a.data, a.cache_images, dev, a.classes)
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'
    print(f"device {name}, torch {torch.__version__}, timm {timm.__version__}; bs {a.bs}, {a.size} px, {a.steps} steps x "
          f"{a.repeats} repeats, {'bf16 autocast' if a.amp else 'float32'}, channels_last; cache {tuple(cache.shape)} uint8 ({a.data})", flush=True)
    summary = []
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='MixedPrecision')
        for m in a.model.split(','):
            rows = bench_model(m, a, dev, cache, labels)
            for mode, r in rows.items():
                ref = REFERENCE_H100.get(m, (None, None))[mode == 'compiled'] if dev.type == 'cuda' else None
                summary.append((m, mode, r, ref))
    print(f"\n{'model':<22} {'mode':<9} {'plain':>9} {'learner':>9} {'plain e2e':>10} {'lrn e2e':>9}  {'learner/plain':>13} "
          f"{'e2e/synth (plain)':>17} {'e2e/synth (learner)':>19}  H100 reference")
    for m, mode, r, ref in summary:
        ps, ls, pe, le = r['plain synthetic'], r['learner synthetic'], r['plain e2e'], r['learner e2e']
        print(f"{m:<22} {mode:<9} {ps:>9,.0f} {ls:>9,.0f} {pe:>10,.0f} {le:>9,.0f}  {ls/ps:>13.3f} {pe/ps:>17.3f} {le/ls:>19.3f}  "
              f"{f'{ref:,}' if ref else '-'}")
    print("targets: learner/plain >= 0.97; e2e/synthetic >= 0.8")

if __name__ == '__main__': main()
