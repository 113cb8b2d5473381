"""The Denoising view's noise-level sweep: each classical method's PSNR at sigma 5 to 100 on bundled grey photos.

    python -m playground.denoise_bench       # writes playground/assets/denoise_sweep.json (about a minute)

Each photo (scikit-image's, CC0 / public domain) is read as grey and shrunk to the view's MAX_SIDE; noise of
each sigma is added with seed SEED; every method of playground.denoise removes it. The JSON keeps, per method and
sigma, the mean and standard deviation over the photos of PSNR and SSIM, and the noisy input's own.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from . import data, denoise

SIGMAS = (5, 10, 15, 25, 35, 50, 75, 100)
PHOTOS = ("camera", "coffee", "chelsea", "rocket", "astronaut")
SEED = 0
ASSET = denoise.SWEEP
COMMAND = denoise.SWEEP_COMMAND


def measure(photos=PHOTOS, sigmas=SIGMAS, log=print):
    """{"sigmas", "photos", "rows": {method: {"psnr": [[per photo] per sigma], "ssim": ...}}, "ms": ...}."""
    start = time.perf_counter()
    names = ("noisy input", *denoise.METHODS)
    psnr = {m: [[] for _ in sigmas] for m in names}
    ssim = {m: [[] for _ in sigmas] for m in names}
    ms = {m: [] for m in denoise.METHODS}
    for photo in photos:
        clean, _ = denoise.capped(np.array(data.load_natural(photo, "L")))
        for i, sigma in enumerate(sigmas):
            noisy = denoise.add_noise(clean, sigma, SEED)
            outputs = [("noisy input", noisy, None), *denoise.denoise_all(noisy, sigma)]
            for name, out, took in outputs:
                s = denoise.scores(out, clean)
                psnr[name][i].append(s["psnr"])
                ssim[name][i].append(s["ssim"])
                if took is not None:
                    ms[name].append(took)
            log(f"{photo} sigma {sigma}: " + ", ".join(f"{n} {psnr[n][i][-1]:.2f}" for n in names))
    summary = {m: {"psnr_mean": [round(float(np.mean(v)), 3) for v in psnr[m]],
                   "psnr_std": [round(float(np.std(v)), 3) for v in psnr[m]],
                   "ssim_mean": [round(float(np.mean(v)), 4) for v in ssim[m]],
                   "ssim_std": [round(float(np.std(v)), 4) for v in ssim[m]]} for m in names}
    return {"command": COMMAND, "sigmas": list(sigmas), "photos": list(photos), "seed": SEED,
            "max_side": denoise.MAX_SIDE, "methods": summary,
            "median_ms": {m: round(float(np.median(v)), 1) for m, v in ms.items()},
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ASSET), help="JSON file to write")
    args = ap.parse_args(argv)
    result = measure()
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    at = result["sigmas"].index(25)
    print(f"PSNR at sigma 25 (mean over {len(result['photos'])} photos): " + "; ".join(
        f"{m} {v['psnr_mean'][at]:.2f} dB" for m, v in result["methods"].items()))
    print(f"median ms: {result['median_ms']}; {result['seconds']} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
