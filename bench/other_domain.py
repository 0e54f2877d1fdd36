#!/usr/bin/env python
"""The default recipe on data it was not tuned for: scikit-image's `lfw_subset` (200 grey 25x25 images, faces vs
non-faces, another domain than elpv) written as an image folder, `ftbook-finetune` with no strategy flag against
`--strategy probe` (and any others named), 20% stratified hold-out, mean ± std over seeds (a benchmark, not a test).

    python bench/other_domain.py --seeds 0 1 2 --strategies lp probe
"""
import argparse, json, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image
from skimage.data import lfw_subset

def write_folder(root:Path) -> Path:
    imgs = lfw_subset()                                   # (200, 25, 25) floats in [0, 1]: 100 faces, then 100 not
    for i, im in enumerate(imgs):
        d = root/('face' if i < 100 else 'not_face'); d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((im * 255).round().astype(np.uint8)).save(d/f'{i:03d}.png')
    return root

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--strategies', nargs='+', default=['lp', 'probe'])
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp()); data = write_folder(tmp/'lfw')
    exe = str(Path(sys.executable).parent/'ftbook-finetune')
    res = {}
    for s in a.strategies:
        for seed in a.seeds:
            out = tmp/f'{s}_{seed}'; t0 = time.time()
            r = subprocess.run([exe, '--data', str(data), '--out', str(out), '--strategy', s, '--seed', str(seed),
                                '--quiet'], capture_output=True, text=True)
            if r.returncode: sys.exit(f"{s} seed {seed} failed: {r.stderr[-2000:]}")
            m = json.loads((out/'metrics.json').read_text())
            res.setdefault(s, []).append((m['accuracy'], m['macro_f1'], time.time() - t0))
            print(f"{s:<10} seed {seed}: accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  tta {m['tta']}  "
                  f"({time.time() - t0:.0f}s, {m['n_valid']} held out)", flush=True)
    for s, rows in res.items():
        r = np.array(rows)
        print(f"{s:<10} accuracy {r[:, 0].mean():.3f} ± {r[:, 0].std(ddof=1):.3f}  macro-F1 {r[:, 1].mean():.3f} ± "
              f"{r[:, 1].std(ddof=1):.3f}  time {r[:, 2].mean():.0f}s")

if __name__ == '__main__': main()
