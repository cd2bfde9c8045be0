#!/usr/bin/python3
"""Test fixture: a PyTorch PlainConvUNet or ResidualEncoderUNet (same module trees and parameter
names as nnU-Net v2's dynamic_network_architectures, written here independently because that package
is not installed), random weights, an input and its outputs.

usage: make_unet_fixture.py CONFIG.json OUT_DIR SEED SHAPE [--torchscript]
  CONFIG.json  voxseg's {"type": "unet", ...} architecture object ("encoder": "residual" builds a
               ResidualEncoderUNet with BasicBlockD blocks, as nnU-Net's ResEnc presets)
  SHAPE        input shape, comma separated, e.g. 2,1,8,32,32
writes OUT_DIR/weights.pth  torch.save(dict(net.state_dict()))  (all PyTorch keys, aliases included)
       OUT_DIR/state_dict.pth        torch.save(net.state_dict())  (an OrderedDict)
       OUT_DIR/checkpoint_final.pth  nnU-Net-like checkpoint {"network_weights": state_dict, ...}
       OUT_DIR/keys.txt     "name shape" per state_dict entry, in order
       OUT_DIR/io.pth       {"input", "output", "ds0", "ds1", ...} (ds: deep supervision, full res first)
       OUT_DIR/model.pt     with --torchscript: torch.jit.trace of the net (no deep supervision)
"""
import json
import sys

import torch
from torch import nn


class ConvDropoutNormReLU(nn.Module):
    """conv -> norm -> LeakyReLU; the residual blocks also use it without the nonlinearity and
    (skip projection) without bias."""

    def __init__(self, cfg, cin, cout, kernel, stride, bias=None, nonlin=True):
        super().__init__()
        conv_cls = nn.Conv3d if cfg["dims"] == 3 else nn.Conv2d
        self.conv = conv_cls(cin, cout, kernel, stride, padding=[(k - 1) // 2 for k in kernel],
                             bias=cfg["conv_bias"] if bias is None else bias)
        ops = [self.conv]
        if cfg["norm"] != "none":
            if cfg["norm"] == "instance":
                cls = nn.InstanceNorm3d if cfg["dims"] == 3 else nn.InstanceNorm2d
            else:
                cls = nn.BatchNorm3d if cfg["dims"] == 3 else nn.BatchNorm2d
            self.norm = cls(cout, eps=cfg["norm_eps"], affine=cfg["norm_affine"])
            ops.append(self.norm)
        if nonlin:
            self.nonlin = nn.LeakyReLU(cfg["negative_slope"], inplace=True)
            ops.append(self.nonlin)
        self.all_modules = nn.Sequential(*ops)

    def forward(self, x):
        return self.all_modules(x)


class StackedConvBlocks(nn.Module):
    def __init__(self, cfg, n, cin, cout, kernel, first_stride):
        super().__init__()
        blocks = [ConvDropoutNormReLU(cfg, cin, cout, kernel, first_stride)]
        blocks += [ConvDropoutNormReLU(cfg, cout, cout, kernel, [1] * cfg["dims"]) for _ in range(1, n)]
        self.convs = nn.Sequential(*blocks)

    def forward(self, x):
        return self.convs(x)


class PlainConvEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        stages, cin = [], cfg["in_channels"]
        for s, feat in enumerate(cfg["features_per_stage"]):
            stages.append(nn.Sequential(StackedConvBlocks(cfg, cfg["n_conv_per_stage"][s], cin, feat,
                                                          cfg["kernel_sizes"][s], cfg["strides"][s])))
            cin = feat
        self.stages = nn.Sequential(*stages)

    def forward(self, x):
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return skips


class BasicBlockD(nn.Module):
    """ResNet-D basic block: conv1 (strided) -> conv2 (no nonlinearity), plus a skip that average-pools
    when the block strides and projects (1x1 conv + norm, no bias) when the channels change; then
    the nonlinearity."""

    def __init__(self, cfg, cin, cout, kernel, stride):
        super().__init__()
        ones = [1] * cfg["dims"]
        self.conv1 = ConvDropoutNormReLU(cfg, cin, cout, kernel, stride)
        self.conv2 = ConvDropoutNormReLU(cfg, cout, cout, kernel, ones, nonlin=False)
        self.nonlin2 = nn.LeakyReLU(cfg["negative_slope"], inplace=True)
        strided = any(s != 1 for s in stride)
        if strided or cin != cout:
            skip = []
            if strided:
                pool = nn.AvgPool3d if cfg["dims"] == 3 else nn.AvgPool2d
                skip.append(pool(stride, stride))
            if cin != cout:
                skip.append(ConvDropoutNormReLU(cfg, cin, cout, ones, ones, bias=False, nonlin=False))
            self.skip = nn.Sequential(*skip)
        else:
            self.skip = nn.Identity()

    def forward(self, x):
        residual = self.skip(x)
        out = self.conv2(self.conv1(x))
        out += residual
        return self.nonlin2(out)


class StackedResidualBlocks(nn.Module):
    def __init__(self, cfg, n, cin, cout, kernel, first_stride):
        super().__init__()
        blocks = [BasicBlockD(cfg, cin, cout, kernel, first_stride)]
        blocks += [BasicBlockD(cfg, cout, cout, kernel, [1] * cfg["dims"]) for _ in range(1, n)]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(x)


class ResidualEncoder(nn.Module):
    """Stem (one conv block at stage 0's kernel, stride 1) then one StackedResidualBlocks per stage
    (strided convolutions, no pooling); the skips are the stages' outputs."""

    def __init__(self, cfg):
        super().__init__()
        stem = cfg.get("stem_channels") or cfg["features_per_stage"][0]
        self.stem = StackedConvBlocks(cfg, 1, cfg["in_channels"], stem, cfg["kernel_sizes"][0],
                                      [1] * cfg["dims"])
        stages, cin = [], stem
        for s, feat in enumerate(cfg["features_per_stage"]):
            stages.append(StackedResidualBlocks(cfg, cfg["n_blocks_per_stage"][s], cin, feat,
                                                cfg["kernel_sizes"][s], cfg["strides"][s]))
            cin = feat
        self.stages = nn.Sequential(*stages)

    def forward(self, x):
        x, skips = self.stem(x), []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return skips


class UNetDecoder(nn.Module):
    def __init__(self, encoder, cfg, deep_supervision):
        super().__init__()
        self.deep_supervision = deep_supervision
        self.encoder = encoder
        feats, n = cfg["features_per_stage"], len(cfg["features_per_stage"])
        tconv = nn.ConvTranspose3d if cfg["dims"] == 3 else nn.ConvTranspose2d
        conv = nn.Conv3d if cfg["dims"] == 3 else nn.Conv2d
        stages, transpconvs, seg_layers = [], [], []
        for s in range(1, n):
            below, skip = feats[-s], feats[-(s + 1)]
            stride = cfg["strides"][-s]
            transpconvs.append(tconv(below, skip, stride, stride, bias=cfg["conv_bias"]))
            stages.append(StackedConvBlocks(cfg, cfg["n_conv_per_stage_decoder"][s - 1], 2 * skip, skip,
                                            cfg["kernel_sizes"][-(s + 1)], [1] * cfg["dims"]))
            seg_layers.append(conv(skip, cfg["num_classes"], 1, 1, 0, bias=True))
        self.stages = nn.ModuleList(stages)
        self.transpconvs = nn.ModuleList(transpconvs)
        self.seg_layers = nn.ModuleList(seg_layers)

    def forward(self, skips):
        x, outputs = skips[-1], []
        for s in range(len(self.stages)):
            x = self.transpconvs[s](x)
            x = torch.cat((x, skips[-(s + 2)]), 1)
            x = self.stages[s](x)
            if self.deep_supervision:
                outputs.append(self.seg_layers[s](x))
            elif s == len(self.stages) - 1:
                outputs.append(self.seg_layers[-1](x))
        outputs = outputs[::-1]
        return outputs if self.deep_supervision else outputs[0]


class PlainConvUNet(nn.Module):
    def __init__(self, cfg, deep_supervision=False):
        super().__init__()
        self.encoder = PlainConvEncoder(cfg)
        self.decoder = UNetDecoder(self.encoder, cfg, deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ResidualEncoderUNet(nn.Module):
    def __init__(self, cfg, deep_supervision=False):
        super().__init__()
        self.encoder = ResidualEncoder(cfg)
        self.decoder = UNetDecoder(self.encoder, cfg, deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def randomize(net, gen):
    """Weights far from the defaults, so a loader that skipped any tensor would change the output."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 4
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.3 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)


def main():
    cfg_path, out_dir, seed, shape = sys.argv[1:5]
    torchscript = "--torchscript" in sys.argv[5:]
    cfg = json.load(open(cfg_path))
    gen = torch.Generator().manual_seed(int(seed))
    cls = ResidualEncoderUNet if cfg.get("encoder", "plain") == "residual" else PlainConvUNet
    net = cls(cfg, deep_supervision=True)
    randomize(net, gen)
    net.eval()
    sd = net.state_dict()
    torch.save(dict(sd), f"{out_dir}/weights.pth")
    torch.save(sd, f"{out_dir}/state_dict.pth")  # OrderedDict, as users export
    torch.save({"network_weights": sd, "trainer_name": "nnUNetTrainer", "current_epoch": 5,
                "inference_allowed_mirroring_axes": (0, 1, 2)}, f"{out_dir}/checkpoint_final.pth")
    with open(f"{out_dir}/keys.txt", "w") as f:
        for k, v in sd.items():
            f.write(f"{k} {list(v.shape)}\n")
    x = torch.randn([int(s) for s in shape.split(",")], generator=gen)
    with torch.no_grad():
        ds = net(x)
        net.decoder.deep_supervision = False
        y = net(x)
    io = {"input": x, "output": y}
    for i, t in enumerate(ds):
        io[f"ds{i}"] = t
    torch.save(io, f"{out_dir}/io.pth")
    if torchscript:
        with torch.no_grad():
            traced = torch.jit.trace(net, x)
        traced.save(f"{out_dir}/model.pt")


if __name__ == "__main__":
    main()
