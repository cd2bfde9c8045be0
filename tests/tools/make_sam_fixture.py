#!/usr/bin/python3
"""Reference fixtures for the SAM unit tests (Debian's python3-torch).

An independent PyTorch implementation of SAM's image encoder, prompt encoder and mask decoder,
written from the architecture description (Kirillov et al. 2023) with the official module names,
so that model.state_dict() has the official checkpoint keys. Random weights; writes
  <out>/weights.pth   the state dict (OrderedDict, what torch.save(sam.state_dict()) writes)
  <out>/io.pth        a dict of inputs and per-module reference outputs (unless --weights-only)
  <out>/keys.txt      "name [shape]" per parameter

usage: make_sam_fixture.py OUT [--preset vit_b|tiny|small_encoder] [--seed N] [--weights-only]
                               [--training-checkpoint]   (MedSAM's {model, optimizer, epoch} with "module.")
"""
import argparse
import collections
import math
import os

import torch
from torch import nn
import torch.nn.functional as F


class LayerNorm2d(nn.Module):
    """Channel-wise layer norm of a [B,C,H,W] map."""

    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(dim=1, keepdim=True)
        var = ((x - mu) ** 2).mean(dim=1, keepdim=True)
        return self.weight.view(-1, 1, 1) * (x - mu) / torch.sqrt(var + self.eps) + self.bias.view(-1, 1, 1)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden, act):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)
        self.act = act

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


# ---------------------------------------------------------------------------------------------
# Image encoder

class RelPosAttention(nn.Module):
    """Self-attention over an (h x w) token grid plus decomposed relative position biases:
    score(q at (y,x), k at (i,j)) += q . Rh[y-i] + q . Rw[x-j] with the unscaled query."""

    def __init__(self, dim, heads, size):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * size - 1, dim // heads))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * size - 1, dim // heads))

    @staticmethod
    def table(rel, n):
        offsets = [[a - b + n - 1 for b in range(n)] for a in range(n)]
        return rel[torch.tensor(offsets)]  # [n, n, c]

    def forward(self, x):
        b, h, w, c = x.shape
        n, hd = self.heads, c // self.heads
        q, k, v = self.qkv(x).reshape(b, h * w, 3, n, hd).unbind(2)  # each [b, L, n, hd]
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [b, n, L, hd]
        logits = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd)
        qg = q.reshape(b, n, h, w, hd)
        bh = torch.einsum("bnyxc,yic->bnyxi", qg, self.table(self.rel_pos_h, h))
        bw = torch.einsum("bnyxc,xjc->bnyxj", qg, self.table(self.rel_pos_w, w))
        bias = bh[..., :, None] + bw[..., None, :]  # [b, n, y, x, i, j]
        logits = logits + bias.reshape(b, n, h * w, h * w)
        out = torch.matmul(torch.softmax(logits, dim=-1), v)  # [b, n, L, hd]
        return self.proj(out.transpose(1, 2).reshape(b, h, w, c))


class VitBlock(nn.Module):
    def __init__(self, dim, heads, window, grid):
        super().__init__()
        self.window = window
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = RelPosAttention(dim, heads, window if window else grid)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = FeedForward(dim, 4 * dim, nn.GELU())

    def forward(self, x):
        y = self.norm1(x)
        if self.window:
            b, h, w, c = y.shape
            s = self.window
            hp, wp = -(-h // s) * s, -(-w // s) * s
            padded = y.new_zeros(b, hp, wp, c)
            padded[:, :h, :w] = y
            out = torch.empty_like(padded)
            for top in range(0, hp, s):
                for left in range(0, wp, s):
                    out[:, top:top + s, left:left + s] = self.attn(padded[:, top:top + s, left:left + s])
            y = out[:, :h, :w]
        else:
            y = self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))


class ImageEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        grid = cfg["image_size"] // 16
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, cfg["embed"], 16, stride=16)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, cfg["embed"]))
        self.blocks = nn.ModuleList(
            VitBlock(cfg["embed"], cfg["heads"], 0 if i in cfg["globals"] else cfg["window"], grid)
            for i in range(cfg["depth"]))
        self.neck = nn.Sequential(
            nn.Conv2d(cfg["embed"], 256, 1, bias=False), LayerNorm2d(256),
            nn.Conv2d(256, 256, 3, padding=1, bias=False), LayerNorm2d(256))

    def forward(self, images, record=None):
        x = self.patch_embed.proj(images).permute(0, 2, 3, 1) + self.pos_embed
        if record is not None:
            record["patch_out"] = x
        for i, blk in enumerate(self.blocks):
            if record is not None:
                record[f"block{i}_in"] = x
            x = blk(x)
            if record is not None:
                record[f"block{i}_out"] = x
        if record is not None:
            record["neck_in"] = x
        return self.neck(x.permute(0, 3, 1, 2))


# ---------------------------------------------------------------------------------------------
# Prompt encoder

class FourierFeatures(nn.Module):
    def __init__(self, half):
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, half))

    def encode(self, unit):  # [..., 2] in [0, 1]
        a = 2 * math.pi * ((2 * unit - 1) @ self.positional_encoding_gaussian_matrix)
        return torch.cat([torch.sin(a), torch.cos(a)], dim=-1)


class PromptEncoder(nn.Module):
    def __init__(self, image_size, dim=256, mask_chans=16):
        super().__init__()
        self.size = image_size
        self.grid = image_size // 16
        self.pe_layer = FourierFeatures(dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_chans // 4, 2, stride=2), LayerNorm2d(mask_chans // 4), nn.GELU(),
            nn.Conv2d(mask_chans // 4, mask_chans, 2, stride=2), LayerNorm2d(mask_chans), nn.GELU(),
            nn.Conv2d(mask_chans, dim, 1))
        self.no_mask_embed = nn.Embedding(1, dim)

    def point_token(self, x, y, label):
        if label == -1:
            return self.not_a_point_embed.weight[0]
        pe = self.pe_layer.encode(torch.tensor([(x + 0.5) / self.size, (y + 0.5) / self.size]))
        return pe + self.point_embeddings[int(label)].weight[0]

    def dense_pe(self):
        ys, xs = torch.meshgrid(torch.arange(self.grid) + 0.5, torch.arange(self.grid) + 0.5, indexing="ij")
        unit = torch.stack([xs / self.grid, ys / self.grid], dim=-1)
        return self.pe_layer.encode(unit).permute(2, 0, 1)[None]

    def forward(self, points, labels, boxes, masks, n):
        sparse = []
        for i in range(n):
            toks = []
            if points is not None:
                for (x, y), l in zip(points[i].tolist(), labels[i].tolist()):
                    toks.append(self.point_token(x, y, l))
                if boxes is None:
                    toks.append(self.point_token(0.0, 0.0, -1))
            if boxes is not None:
                x0, y0, x1, y1 = boxes[i].tolist()
                toks.append(self.pe_layer.encode(torch.tensor([(x0 + .5) / self.size, (y0 + .5) / self.size]))
                            + self.point_embeddings[2].weight[0])
                toks.append(self.pe_layer.encode(torch.tensor([(x1 + .5) / self.size, (y1 + .5) / self.size]))
                            + self.point_embeddings[3].weight[0])
            sparse.append(torch.stack(toks))
        sparse = torch.stack(sparse)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).repeat(n, 1, self.grid, self.grid)
        return sparse, dense


# ---------------------------------------------------------------------------------------------
# Mask decoder

class ProjAttention(nn.Module):
    def __init__(self, dim, heads, downsample=1):
        super().__init__()
        inner = dim // downsample
        self.heads = heads
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(dim, inner)
        self.v_proj = nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def forward(self, q, k, v):
        q, k, v = self.q_proj(q), self.k_proj(k), self.v_proj(v)
        outs = []
        d = q.shape[-1] // self.heads
        for h in range(self.heads):  # one head at a time
            qs, ks, vs = (t[..., h * d:(h + 1) * d] for t in (q, k, v))
            w = torch.softmax(qs @ ks.transpose(-1, -2) / math.sqrt(d), dim=-1)
            outs.append(w @ vs)
        return self.out_proj(torch.cat(outs, dim=-1))


class TwoWayBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim, first):
        super().__init__()
        self.first = first
        self.self_attn = ProjAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = ProjAttention(dim, heads, 2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, mlp_dim, nn.ReLU())
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = ProjAttention(dim, heads, 2)

    def forward(self, tok, img, tok_pe, img_pe):
        if self.first:
            tok = self.self_attn(tok, tok, tok)
        else:
            tok = tok + self.self_attn(tok + tok_pe, tok + tok_pe, tok)
        tok = self.norm1(tok)
        tok = self.norm2(tok + self.cross_attn_token_to_image(tok + tok_pe, img + img_pe, img))
        tok = self.norm3(tok + self.mlp(tok))
        img = self.norm4(img + self.cross_attn_image_to_token(img + img_pe, tok + tok_pe, tok))
        return tok, img


class TwoWayTransformer(nn.Module):
    def __init__(self, depth=2, dim=256, heads=8, mlp_dim=2048):
        super().__init__()
        self.layers = nn.ModuleList(TwoWayBlock(dim, heads, mlp_dim, i == 0) for i in range(depth))
        self.final_attn_token_to_image = ProjAttention(dim, heads, 2)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, img, img_pe, tok):
        img = img.flatten(2).transpose(1, 2)
        img_pe = img_pe.flatten(2).transpose(1, 2)
        q, k = tok, img
        for layer in self.layers:
            q, k = layer(q, k, tok, img_pe)
        q = self.norm_final_attn(q + self.final_attn_token_to_image(q + tok, k + img_pe, k))
        return q, k


class Mlp(nn.Module):
    def __init__(self, i, h, o, n):
        super().__init__()
        dims = [i] + [h] * (n - 1) + [o]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for j, lin in enumerate(self.layers):
            x = lin(x)
            if j < len(self.layers) - 1:
                x = F.relu(x)
        return x


class MaskDecoder(nn.Module):
    def __init__(self, dim=256):
        super().__init__()
        self.transformer = TwoWayTransformer(dim=dim)
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(4, dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, 2, stride=2), LayerNorm2d(dim // 4), nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, 2, stride=2), nn.GELU())
        self.output_hypernetworks_mlps = nn.ModuleList(Mlp(dim, dim, dim // 8, 3) for _ in range(4))
        self.iou_prediction_head = Mlp(dim, 256, 4, 3)

    def forward_one(self, emb, pe, sparse, dense):
        """One prompt: emb [1,C,h,w], sparse [1,T,C], dense [1,C,h,w] -> masks [1,4,4h,4w], iou [1,4]."""
        tok = torch.cat([self.iou_token.weight, self.mask_tokens.weight, sparse[0]])[None]
        hs, img = self.transformer(emb + dense, pe, tok)
        c, h, w = emb.shape[1:]
        up = self.output_upscaling(img.transpose(1, 2).reshape(1, c, h, w))
        masks = []
        for j in range(4):
            weights = self.output_hypernetworks_mlps[j](hs[0, 1 + j])  # [C/8]
            masks.append(torch.einsum("c,chw->hw", weights, up[0]))
        return torch.stack(masks)[None], self.iou_prediction_head(hs[:, 0])


class Sam(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.image_encoder = ImageEncoder(cfg)
        self.prompt_encoder = PromptEncoder(cfg["image_size"])
        self.mask_decoder = MaskDecoder()


# ---------------------------------------------------------------------------------------------

PRESETS = {
    "vit_b": dict(embed=768, depth=12, heads=12, window=14, globals=[2, 5, 8, 11], image_size=1024),
    "tiny": dict(embed=64, depth=4, heads=2, window=14, globals=[1, 3], image_size=256),
    # full-size 1024 input, prompt encoder and mask decoder behind a 2-block encoder: bench/refine_bench
    # measures warm-cache decoding with it (the decoder's cost does not depend on the encoder's size)
    "small_encoder": dict(embed=64, depth=2, heads=2, window=14, globals=[1], image_size=1024),
}


EMBEDDINGS = ("prompt_encoder.not_a_point_embed.weight", "prompt_encoder.no_mask_embed.weight",
              "mask_decoder.iou_token.weight", "mask_decoder.mask_tokens.weight")


def randomize(model, gen):
    """Random weights scaled so activations stay near unit size through every module."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            def rand(scale):
                return scale * torch.randn(t.shape, generator=gen)
            if name in EMBEDDINGS or name.startswith("prompt_encoder.point_embeddings."):
                t.copy_(rand(1.0))
            elif "gaussian" in name:
                t.copy_(rand(1.0))
            elif "rel_pos" in name or name.endswith("pos_embed"):
                t.copy_(rand(0.2))
            elif t.dim() == 1 and name.endswith(".weight"):  # layer norms
                t.copy_(1 + rand(0.1))
            elif t.dim() == 1:  # biases
                t.copy_(rand(0.1))
            else:  # linear / conv weights; a transposed conv's input channels come first
                fan_in = t.shape[0] if "output_upscaling" in name else t[0].numel()
                t.copy_(rand(1.0 / math.sqrt(fan_in)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights-only", action="store_true")
    ap.add_argument("--training-checkpoint", action="store_true")
    args = ap.parse_args()
    cfg = PRESETS[args.preset]
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    sam = Sam(cfg).eval()
    randomize(sam, gen)
    os.makedirs(args.out, exist_ok=True)
    sd = sam.state_dict()
    with open(os.path.join(args.out, "keys.txt"), "w") as f:
        for k, v in sd.items():
            f.write(f"{k} {list(v.shape)}\n")
    if args.training_checkpoint:
        model = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
        torch.save({"model": model, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]}, "epoch": 3},
                   os.path.join(args.out, "weights.pth"))
    else:
        torch.save(sd, os.path.join(args.out, "weights.pth"))
    if args.weights_only:
        return

    io = {}
    s = cfg["image_size"]
    low = s // 4
    with torch.no_grad():
        images = torch.randn(2, 3, s, s, generator=gen)
        io["images"] = images
        rec = {}
        emb = sam.image_encoder(images, rec)
        io.update(rec)
        io["neck_out"] = emb
        pe = sam.prompt_encoder.dense_pe()
        io["dense_pe"] = pe
        cases = {
            "box": dict(boxes=torch.tensor([[10.0, 20.0, 150.0, 200.5], [0.0, 0.0, s - 1.0, s - 1.0]])),
            "points": dict(points=torch.tensor([[[30.0, 40.0], [100.5, 60.0], [200.0, 10.0]],
                                                [[5.0, 250.0], [128.0, 128.0], [0.0, 0.0]]]),
                           labels=torch.tensor([[1, 0, 1], [1, 1, -1]], dtype=torch.int64)),
            "box_points": dict(points=torch.tensor([[[64.0, 64.0]], [[12.0, 99.0]]]),
                               labels=torch.tensor([[1], [0]], dtype=torch.int64),
                               boxes=torch.tensor([[30.0, 30.0, 120.0, 90.0], [3.0, 50.0, 60.0, 160.0]])),
            "mask_points": dict(points=torch.tensor([[[70.0, 80.0]], [[180.0, 20.0]]]),
                                labels=torch.tensor([[1], [1]], dtype=torch.int64),
                                masks=3 * torch.randn(2, 1, low, low, generator=gen)),
        }
        for name, c in cases.items():
            pts, labs, boxes, masks = c.get("points"), c.get("labels"), c.get("boxes"), c.get("masks")
            sparse, dense = sam.prompt_encoder(pts, labs, boxes, masks, 2)
            all_masks, all_iou = [], []
            for i in range(2):
                m, q = sam.mask_decoder.forward_one(emb[:1], pe, sparse[i:i + 1], dense[i:i + 1])
                all_masks.append(m)
                all_iou.append(q)
            for key, val in (("points", pts), ("labels", labs), ("boxes", boxes), ("masks", masks)):
                if val is not None:
                    io[f"{name}.{key}"] = val
            io[f"{name}.sparse"] = sparse
            io[f"{name}.dense"] = dense
            io[f"{name}.low_res"] = torch.cat(all_masks)
            io[f"{name}.iou"] = torch.cat(all_iou)
    torch.save({k: v.contiguous() for k, v in io.items()}, os.path.join(args.out, "io.pth"))


if __name__ == "__main__":
    main()
