#!/usr/bin/python3
"""Test fixture: a small 3D U-Net written for torch.jit.script (not traced), random weights, an input
and its output, for the TorchScript backend's freeze/optimize-for-inference path.

usage: make_torchscript_fixture.py OUT_DIR SEED CLASSES SHAPE
  SHAPE  input shape, comma separated, e.g. 2,1,8,16,16 (one channel; even spatial sizes)
writes OUT_DIR/model.pt  torch.jit.script of the net in eval mode (not frozen)
       OUT_DIR/io.pth    {"input", "output"} computed by the eager net
The net has what the inference passes rewrite: conv + batch norm (folded), conv + instance norm,
LeakyReLU, a transposed convolution, a skip concatenation, a 1x1 output conv, and Python attributes
read in forward (inlined as constants by freezing).
"""
import sys

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, cin, cout, stride, norm):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, stride, padding=1)
        self.norm = nn.BatchNorm3d(cout) if norm == "batch" else nn.InstanceNorm3d(cout, affine=True)
        self.nonlin = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x):
        return self.nonlin(self.norm(self.conv(x)))


class TinyUNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.enc0 = Block(1, 4, 1, "instance")
        self.enc1 = Block(4, 8, 2, "batch")
        self.up = nn.ConvTranspose3d(8, 4, 2, 2)
        self.dec = Block(8, 4, 1, "instance")
        self.seg = nn.Conv3d(4, classes, 1)
        self.deep_supervision = False
        self.logit_scale = 1.5

    def forward(self, x):
        s0 = self.enc0(x)
        y = self.up(self.enc1(s0))
        y = self.dec(torch.cat((y, s0), 1))
        out = self.seg(y)
        if self.deep_supervision:
            out = out * 0.0
        return out * self.logit_scale


def main():
    out_dir, seed, classes, shape = sys.argv[1:5]
    gen = torch.Generator().manual_seed(int(seed))
    net = TinyUNet(int(classes))
    with torch.no_grad():
        for name, p in net.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 4
            p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        net.enc1.norm.running_mean.copy_(0.3 * torch.randn(8, generator=gen))
        net.enc1.norm.running_var.copy_(0.5 + torch.rand(8, generator=gen))
    net.eval()
    x = torch.randn([int(s) for s in shape.split(",")], generator=gen)
    with torch.no_grad():
        y = net(x)
    torch.jit.script(net).save(f"{out_dir}/model.pt")
    torch.save({"input": x, "output": y}, f"{out_dir}/io.pth")


if __name__ == "__main__":
    main()
