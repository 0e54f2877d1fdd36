#!/usr/bin/env python
"""ftbook's from-scratch LoRA versus Hugging Face peft on the same model and batch (a benchmark, not a test).

Both wrap the same random timm model (no download) with the same targets, rank, alpha and new head. It reports:

* train-step time (forward, backward, AdamW step) of each, and ftbook/peft. Calls alternate between the two
  (ABBA...) so load from other processes hits both; the first `--steps` rounds are warmup. Medians of wall and
  CPU time, and the median of the per-round ratios (the most robust number on a busy machine).
* memory: (1) the bytes of activations autograd saves for the backward pass (exact, via saved-tensor hooks);
  (2) peak memory of three training steps, each implementation in its own fresh subprocess. CPU has no allocator
  statistics, so (2) is the growth of the peak resident set (VmHWM) over the RSS just before the first step,
  with glibc told to mmap every block of 4 KiB or more so that freed tensors leave the RSS (repeat runs agree to about
  0.2 MB). CUDA: `torch.cuda.max_memory_allocated` minus the memory allocated before the first step.
* inference time of the base model, of ftbook's model after `merge_lora` (wrappers still in place, each calling only
  its base layer), of peft's after `merge_adapter`, and ratios to the base model (target: ftbook merged <= 1.01).
* the size of the adapter file written by `save_adapter` (ViT-Tiny, r=8 on qkv: target < 0.5 MB).

    python bench/lora_vs_peft.py                                   # ViT-Tiny, 224 px, bs 8, qkv r=8, CPU
    python bench/lora_vs_peft.py --targets qkv proj fc1 fc2 --bs 16
    python bench/lora_vs_peft.py --model tf_efficientnet_lite0 --targets conv_pw conv_pwl --size 128
    python bench/lora_vs_peft.py --device cuda --bs 256
"""
import argparse, copy, json, os, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import timm, torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
from ftbook.core import count_params, get_device, set_seed
from ftbook.lora import add_lora, merge_lora, to_peft_state_dict
from ftbook.lora_files import ADAPTER_WEIGHTS, save_adapter

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a = p.add_argument
    a('--model', default='vit_tiny_patch16_224', help='timm model name (built with pretrained=False)')
    a('--targets', nargs='+', default=['qkv'], help='LoRA target_modules (peft matching rules)')
    a('--r', type=int, default=8, help='LoRA rank')
    a('--alpha', type=float, default=16, help='LoRA alpha')
    a('--classes', type=int, default=10, help='classes of the new head (trained in full)')
    a('--bs', type=int, default=8, help='batch size')
    a('--size', type=int, default=224, help='image size in pixels')
    a('--steps', type=int, default=5, help='calls per repeat (the first repeat is warmup)')
    a('--repeats', type=int, default=5, help='repeats; each function runs repeats*steps times, alternating')
    a('--device', default=None, help="'cpu', 'cuda', ... (default: best available)")
    a('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    a('--memory-only', choices=['ftbook', 'peft'], help=argparse.SUPPRESS)  # internal: one subprocess measurement
    return p.parse_args(argv)

def build(args, impl:str, dev):
    "The base model and, for `impl`, its LoRA-wrapped copy (ftbook or peft) on `dev`."
    set_seed(0)
    base = timm.create_model(args.model, pretrained=False, num_classes=args.classes)
    head = base.pretrained_cfg.get('classifier', 'head')
    if impl == 'ftbook':
        model = add_lora(copy.deepcopy(base), args.targets, r=args.r, alpha=args.alpha, modules_to_save=[head])
    else:
        cfg = LoraConfig(target_modules=args.targets, r=args.r, lora_alpha=args.alpha, modules_to_save=[head])
        model = get_peft_model(copy.deepcopy(base), cfg)
    return base.to(dev), model.to(dev)

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def make_step(model, dev, args):
    "A closure running one AdamW train step on a fixed synthetic batch."
    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.bs, 3, args.size, args.size, generator=g).to(dev)
    y = torch.randint(0, args.classes, (args.bs,), generator=g).to(dev)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return step

def interleaved(fns:dict, args, dev) -> dict[str, dict]:
    """Per function: median wall and CPU seconds per call, and the median of its per-round ratios to the first function.

    Calls alternate (A B C, C B A, A B C, ...) so that load from other processes hits every function alike; the first
    `steps` rounds are warmup and dropped. CPU time (`time.process_time`, all threads of this process) is much less
    sensitive than wall time to other processes on a shared machine; on CUDA only wall time means anything."""
    names, wall, cpu = list(fns), {k: [] for k in fns}, {k: [] for k in fns}
    for rnd in range(args.repeats * args.steps):
        for k in (names if rnd % 2 == 0 else names[::-1]):
            sync(dev); t, c = time.perf_counter(), time.process_time()
            fns[k](); sync(dev)
            if rnd >= args.steps: wall[k].append(time.perf_counter() - t); cpu[k].append(time.process_time() - c)
    ref = names[0]
    return {k: dict(wall=statistics.median(wall[k]), cpu=statistics.median(cpu[k]),
                    wall_ratio=statistics.median(a / b for a, b in zip(wall[k], wall[ref])),
                    cpu_ratio=statistics.median(a / b for a, b in zip(cpu[k], cpu[ref]))) for k in names}

def report(title, res, dev):
    "Print medians and ratios to the first entry."
    keys = list(res)
    print(title)
    for k in keys:
        r = res[k]
        line = f"  {k:<15} wall {r['wall']:.4f} s"
        if dev.type == 'cpu': line += f"   cpu {r['cpu']:.4f} s"
        if k != keys[0]:
            line = f"{line}   ratio to {keys[0]}: wall {r['wall_ratio']:.3f}" + (f", cpu {r['cpu_ratio']:.3f}" if dev.type == 'cpu' else '')
        print(line)

def rss_bytes(field='VmRSS') -> int:
    "Current (VmRSS) or peak (VmHWM) resident set of this process, from /proc (Linux)."
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field + ':'))

def measure_memory(args, dev) -> dict:
    "Peak training memory of one implementation in this (fresh) process."
    _, model = build(args, args.memory_only, dev)
    step = make_step(model, dev, args)
    if dev.type == 'cuda':
        sync(dev); before = torch.cuda.memory_allocated(dev); torch.cuda.reset_peak_memory_stats(dev)
        for _ in range(3): step()
        sync(dev); return dict(peak_growth=torch.cuda.max_memory_allocated(dev) - before, before=before)
    # VmHWM belongs to the address space, so it starts afresh at exec (unlike getrusage's ru_maxrss, which a child
    # inherits from the parent it was forked from); writing 5 to clear_refs also resets it to the current RSS.
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
    except OSError: pass
    before = rss_bytes()
    for _ in range(3): step()
    peak = rss_bytes('VmHWM')
    return dict(peak_growth=peak - before, before=before, peak=peak)

def memory_in_subprocess(impl, argv) -> dict:
    "Run `measure_memory` for `impl` in a fresh process; glibc is told to mmap (and unmap) every block >= 4 KiB, so RSS follows live memory."
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='4096', MALLOC_TRIM_THRESHOLD_='0')
    out = subprocess.run([sys.executable, __file__, *argv, '--memory-only', impl], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])

def saved_activation_bytes(model, dev, args) -> int:
    "Bytes of the tensors autograd keeps for the backward pass of one training forward (parameters excluded): exact."
    x = torch.randn(args.bs, 3, args.size, args.size).to(dev)
    storages = {}
    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes(); return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): model.train()(x)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(n for k, n in storages.items() if k not in params)

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    dev = get_device(args.device)
    warnings.filterwarnings('ignore')
    if args.memory_only:
        print(json.dumps(measure_memory(args, dev))); return
    base, ours = build(args, 'ftbook', dev)
    _, theirs = build(args, 'peft', dev)
    n_ours, n_theirs = count_params(ours)[0], count_params(theirs)[0]
    print(f"{args.model}, targets {args.targets}, r={args.r}, alpha={args.alpha}, bs {args.bs}, {args.size} px, "
          f"{dev}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"trainable parameters: ftbook {n_ours:,}, peft {n_theirs:,}, of {count_params(base)[1]:,}")

    res = interleaved({'peft': make_step(theirs, dev, args), 'ftbook': make_step(ours, dev, args)}, args, dev)
    report("train step (median per step; ratios are medians of per-round ftbook/peft):", res, dev)

    saved = {k: saved_activation_bytes(m, dev, args) for k, m in (('ftbook', ours), ('peft', theirs))}
    print(f"saved activations per step (exact, MB):  ftbook {saved['ftbook'] / 1e6:.2f}  peft {saved['peft'] / 1e6:.2f}  "
          f"ratio {saved['ftbook'] / saved['peft']:.4f}")
    mem = {impl: memory_in_subprocess(impl, argv) for impl in ('ftbook', 'peft')}
    what = 'max_memory_allocated growth' if dev.type == 'cuda' else 'peak RSS growth over RSS before training, fresh process'
    print(f"peak train memory ({what}, MB):  ftbook {mem['ftbook']['peak_growth'] / 1e6:.2f}  "
          f"peft {mem['peft']['peak_growth'] / 1e6:.2f}  ratio {mem['ftbook']['peak_growth'] / mem['peft']['peak_growth']:.4f}")

    # fresh wrapped models (training changed BatchNorm statistics differently in the two), the same non-zero adapter
    base, ours = build(args, 'ftbook', dev); _, theirs = build(args, 'peft', dev)
    with torch.no_grad():
        for p in ours.parameters():
            if p.requires_grad: p.normal_(0, 0.02)
    set_peft_model_state_dict(theirs, to_peft_state_dict(ours))
    merge_lora(ours); theirs.merge_adapter()
    x = torch.randn(args.bs, 3, args.size, args.size, generator=torch.Generator().manual_seed(2)).to(dev)
    for m in (base, ours, theirs): m.eval()
    with torch.no_grad():
        diff = (ours(x) - theirs(x)).abs().max().item()
        assert diff < 1e-4, f"merged ftbook and peft models disagree by {diff}"
        fns = {'base': lambda: base(x), 'ftbook merged': lambda: ours(x), 'peft merged': lambda: theirs(x)}
        res = interleaved(fns, args, dev)
    report(f"inference, eval mode (merged-output difference ftbook vs peft {diff:.1e}):", res, dev)

    with tempfile.TemporaryDirectory() as d:
        size = (save_adapter(ours, Path(d)/'adapter')/ADAPTER_WEIGHTS).stat().st_size
    print(f"adapter file: {size / 1e6:.3f} MB ({n_ours:,} numbers incl. the new head)")

if __name__ == '__main__': main()
