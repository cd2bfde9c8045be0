#!/usr/bin/python3
"""Issue 14's TorchScript case: a random nnU-Net-sized U-Net as a TorchScript bundle, run by
`voxseg predict` and by a MONAI-style sliding-window loop in eager PyTorch on the same volume, same
threads, one process after the other.

MONAI cannot be installed here (no PyPI), so `sliding_window_eager` re-implements what
`monai.inferers.sliding_window_inference` computes for a single-channel volume: tiles of the ROI at
`interval = roi * (1 - overlap)` (the last one moved back inside the volume), one network call per
tile (`sw_batch_size` 1), each tile's output weighted by an importance map (constant, or a Gaussian
of sigma 0.125 * roi) and the sum divided by the summed weights. It runs the eager nn.Module, which is
what a MONAI user runs.

usage: torchscript_bench.py VOXSEG_BIN [--threads N] [--size X,Y,Z] [--patch P] [--classes K]
                            [--overlap F] [--work DIR] [--skip-eager]
Prints one JSON line: eager sliding window seconds and peak RSS, and per voxseg configuration
(TorchScript optimized, `VOXSEG_TORCHSCRIPT_OPTIMIZE=0`, `--precision bf16`) wall seconds, the
network seconds from predict's report, peak RSS, and label agreement with the eager argmax.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import nibabel as nib
import numpy as np
import torch
from torch import nn

FEATURES = (32, 64, 128, 256, 320)


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, stride, padding=1)
        self.norm = nn.InstanceNorm3d(cout, eps=1e-5, affine=True)
        self.nonlin = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x):
        return self.nonlin(self.norm(self.conv(x)))


class PlainUNet(nn.Module):
    """nnU-Net's 5-stage 3d_fullres PlainConvUNet (2 convs per stage, 32->320, stride-2 convs)."""

    def __init__(self, classes):
        super().__init__()
        self.encoder = nn.ModuleList()
        cin = 1
        for s, f in enumerate(FEATURES):
            self.encoder.append(nn.Sequential(ConvBlock(cin, f, 1 if s == 0 else 2), ConvBlock(f, f, 1)))
            cin = f
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for s in range(len(FEATURES) - 1, 0, -1):
            self.up.append(nn.ConvTranspose3d(FEATURES[s], FEATURES[s - 1], 2, 2))
            self.decoder.append(nn.Sequential(ConvBlock(2 * FEATURES[s - 1], FEATURES[s - 1], 1),
                                              ConvBlock(FEATURES[s - 1], FEATURES[s - 1], 1)))
        self.seg = nn.Conv3d(FEATURES[0], classes, 1)

    def forward(self, x):
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        x = skips[-1]
        for i, (up, dec) in enumerate(zip(self.up, self.decoder)):
            x = dec(torch.cat((up(x), skips[-2 - i]), 1))
        return self.seg(x)


def tile_starts(size, roi, interval):
    if size <= roi:
        return [0]
    starts = list(range(0, size - roi + 1, interval))
    if starts[-1] != size - roi:
        starts.append(size - roi)
    return starts


def importance_map(roi, mode):
    if mode == "constant":
        return torch.ones((roi,) * 3)
    sigma = 0.125 * roi
    axis = torch.exp(-0.5 * ((torch.arange(roi, dtype=torch.float32) - (roi - 1) / 2) / sigma) ** 2)
    w = axis[:, None, None] * axis[None, :, None] * axis[None, None, :]
    w = w / w.max()
    return w.clamp_min(w[w > 0].min())


def sliding_window_eager(net, volume, roi, overlap, mode):
    """volume [1, 1, Z, Y, X] -> logits [1, K, Z, Y, X]."""
    interval = max(int(roi * (1 - overlap)), 1)
    shape = volume.shape[2:]
    weights = importance_map(roi, mode)
    out = None
    count = torch.zeros(shape)
    for z in tile_starts(shape[0], roi, interval):
        for y in tile_starts(shape[1], roi, interval):
            for x in tile_starts(shape[2], roi, interval):
                tile = volume[:, :, z:z + roi, y:y + roi, x:x + roi]
                logits = net(tile)[0] * weights
                if out is None:
                    out = torch.zeros((logits.shape[0],) + tuple(shape))
                out[:, z:z + roi, y:y + roi, x:x + roi] += logits
                count[z:z + roi, y:y + roi, x:x + roi] += weights
    return (out / count)[None]


def write_bundle(folder, net, classes, patch):
    os.makedirs(folder, exist_ok=True)
    torch.jit.script(net).save(os.path.join(folder, "model.pt"))
    model = {
        "schema_version": 1,
        "name": "torchscript-bench",
        "dims": 3,
        "architecture": {"type": "torchscript", "file": "model.pt"},
        "channels": [{"name": "CT", "normalization": {"scheme": "none"}}],
        "labels": [{"id": k, "name": f"class{k}"} for k in range(classes)],
        "patch_size": [patch] * 3,
    }
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(model, f, indent=1)


def run_voxseg(binary, bundle, image, out, threads, extra, env_extra):
    env = dict(os.environ, **env_extra)
    cmd = ["/usr/bin/time", "-f", "%M", binary, "-m", bundle, image, "-o", out, "--force", "--disable-tta",
           "--threads", str(threads), "--json"] + extra
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        return wall, {"error": p.stderr.strip().splitlines()[0]}, None
    report = json.loads(p.stdout.strip().splitlines()[-1])
    rss_mb = int(p.stderr.strip().splitlines()[-1]) / 1024
    return wall, report, rss_mb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("voxseg_bin", help="path to voxseg-predict")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="192,192,96", help="X,Y,Z")
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--mode", default="gaussian", choices=["gaussian", "constant"])
    ap.add_argument("--work", default="/tmp/voxseg_torchscript_bench")
    ap.add_argument("--skip-eager", action="store_true")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    x_size, y_size, z_size = (int(v) for v in a.size.split(","))
    net = PlainUNet(a.classes).eval()
    bundle = os.path.join(a.work, "bundle")
    write_bundle(bundle, net, a.classes, a.patch)
    volume = torch.randn(z_size, y_size, x_size) * 100.0
    image = os.path.join(a.work, "volume.nii.gz")
    # NIfTI is x-fastest: numpy array (X, Y, Z) = the torch volume transposed.
    nib.save(nib.Nifti1Image(volume.permute(2, 1, 0).numpy(), np.eye(4)), image)

    result = {"bench": "torchscript_bench", "threads": a.threads, "size": [x_size, y_size, z_size],
              "patch": a.patch, "classes": a.classes, "overlap": a.overlap, "mode": a.mode,
              "net": "PlainConvUNet 5 stages 32-320, random weights"}
    eager_labels = None
    if not a.skip_eager:
        with torch.inference_mode():
            start = time.perf_counter()
            logits = sliding_window_eager(net, volume[None, None], a.patch, a.overlap, a.mode)
            result["eager_sliding_window_s"] = round(time.perf_counter() - start, 2)
        # ru_maxrss of this process: LibTorch, the volume, the net and the eager run.
        result["eager_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        eager_labels = logits[0].argmax(0).numpy()

    configs = [("optimized", [], {}), ("unoptimized", [], {"VOXSEG_TORCHSCRIPT_OPTIMIZE": "0"}),
               ("bf16", ["--precision", "bf16"], {})]
    result["voxseg"] = {}
    for name, extra, env in configs:
        out = os.path.join(a.work, f"labels_{name}.nii.gz")
        wall, report, rss = run_voxseg(a.voxseg_bin, bundle, image, out, a.threads, extra, env)
        if "error" in report:
            result["voxseg"][name] = report
            continue
        entry = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss), "timings": report.get("timings")}
        if eager_labels is not None:
            labels = np.asarray(nib.load(out).dataobj).transpose(2, 1, 0)
            entry["label_agreement_with_eager"] = round(float((labels == eager_labels).mean()), 5)
            entry["speed_vs_eager"] = round(result["eager_sliding_window_s"] / wall, 3)
        result["voxseg"][name] = entry
    print(json.dumps(result))


if __name__ == "__main__":
    main()
