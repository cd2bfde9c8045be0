# Writes a tiny TorchScript model bundle for the predict CLI tests (Debian's python3-torch).
# The net is a 1x1x1 convolution with logits (-x, x): after z-score normalization, label 1 where the
# voxel is above the image mean. Usage: make_bundle.py DIR [channels]
import json, sys, torch

out = sys.argv[1]
channels = int(sys.argv[2]) if len(sys.argv) > 2 else 1


class Threshold(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = torch.nn.Conv3d(c, 2, 1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()
            self.conv.weight[0, :] = -1.0 / c
            self.conv.weight[1, :] = 1.0 / c

    def forward(self, x):
        return self.conv(x)


torch.jit.script(Threshold(channels)).save(out + "/model.pt")
spec = {
    "schema_version": 1, "name": "threshold-test", "dims": 3,
    "architecture": {"type": "torchscript", "file": "model.pt"},
    "channels": [{"name": f"C{i}", "normalization": {"scheme": "zscore"}} for i in range(channels)],
    "labels": [{"id": 0, "name": "background"}, {"id": 1, "name": "bright"}],
    "target_spacing": [2.0, 1.5, 1.5],
    "patch_size": [8, 16, 16],
    "crop_to_nonzero": False,
}
json.dump(spec, open(out + "/model.json", "w"), indent=1)
