#!/usr/bin/python3
"""The PyTorch-eager side of bench/sam_bench: SAM's image encoder computed the way the official
segment-anything code computes it (windows partitioned into the batch dimension, one attention call
per block, decomposed relative positions added to the attention logits, GELU MLP, conv neck), with
random weights. The official package cannot be installed here (no PyPI), so this re-implements its
computation order with plain torch ops; the timing is what `ImageEncoderViT.forward` costs in eager mode.

usage: sam_pytorch_bench.py [vit_b|vit_l|vit_h|tiny] [batch] [repeats] [threads]
Prints one JSON line: seconds per slice (median of repeats after one warm-up), fp32 and bf16
(torch.autocast on the CPU, as a user of the official code would get it).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

CONFIGS = {
    "vit_b": dict(dim=768, depth=12, heads=12, globals=(2, 5, 8, 11), size=1024),
    "vit_l": dict(dim=1024, depth=24, heads=16, globals=(5, 11, 17, 23), size=1024),
    "vit_h": dict(dim=1280, depth=32, heads=16, globals=(7, 15, 23, 31), size=1024),
    "tiny": dict(dim=64, depth=2, heads=2, globals=(1,), size=256),
}


def relative_table(rel, q_len, k_len):
    idx = torch.arange(q_len)[:, None] - torch.arange(k_len)[None, :] + (k_len - 1)
    return rel[idx]


class Attention(nn.Module):
    def __init__(self, dim, heads, grid):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(0.02 * torch.randn(2 * grid - 1, dim // heads))
        self.rel_pos_w = nn.Parameter(0.02 * torch.randn(2 * grid - 1, dim // heads))

    def forward(self, x):
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, b * self.heads, h * w, -1).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        rq = q.reshape(b * self.heads, h, w, -1)
        rel_h = torch.einsum("bhwc,hkc->bhwk", rq, relative_table(self.rel_pos_h, h, h))
        rel_w = torch.einsum("bhwc,wkc->bhwk", rq, relative_table(self.rel_pos_w, w, w))
        attn = (attn.view(-1, h, w, h, w) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]).view(-1, h * w, h * w)
        x = (attn.softmax(dim=-1) @ v).view(b, self.heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, heads, window, grid):
        super().__init__()
        self.window = window
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, window if window else grid)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        shortcut = x
        x = self.norm1(x)
        if self.window:
            b, h, w, c = x.shape
            s = self.window
            ph, pw = (s - h % s) % s, (s - w % s) % s
            x = F.pad(x, (0, 0, 0, pw, 0, ph))
            hp, wp = h + ph, w + pw
            x = x.view(b, hp // s, s, wp // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s, s, c)
            x = self.attn(x)
            x = x.view(b, hp // s, wp // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)[:, :h, :w]
        else:
            x = self.attn(x)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class LayerNorm2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c))

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * ((x - u) / torch.sqrt(s + 1e-6)) + self.bias[:, None, None]


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        grid = c["size"] // 16
        self.patch = nn.Conv2d(3, c["dim"], 16, stride=16)
        self.pos = nn.Parameter(0.02 * torch.randn(1, grid, grid, c["dim"]))
        self.blocks = nn.ModuleList(Block(c["dim"], c["heads"], 0 if i in c["globals"] else 14, grid)
                                    for i in range(c["depth"]))
        self.neck = nn.Sequential(nn.Conv2d(c["dim"], 256, 1, bias=False), LayerNorm2d(256),
                                  nn.Conv2d(256, 256, 3, padding=1, bias=False), LayerNorm2d(256))

    def forward(self, x):
        x = self.patch(x).permute(0, 2, 3, 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.neck(x.permute(0, 3, 1, 2))


def median_seconds(repeats, f):
    times = []
    for r in range(repeats + 1):  # r == 0 is the warm-up
        start = time.perf_counter()
        f()
        if r:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "vit_b"
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = CONFIGS[name]
    enc = Encoder(cfg).eval()
    images = torch.randn(batch, 3, cfg["size"], cfg["size"])
    with torch.inference_mode():
        t32 = median_seconds(repeats, lambda: enc(images))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            t16 = median_seconds(repeats, lambda: enc(images))
    print(json.dumps({"bench": "sam_pytorch_eager", "torch": torch.__version__, "config": name, "batch": batch,
                      "threads": threads, "repeats": repeats, "encoder_fp32_s_per_slice": round(t32 / batch, 4),
                      "encoder_bf16_s_per_slice": round(t16 / batch, 4)}))


if __name__ == "__main__":
    main()
