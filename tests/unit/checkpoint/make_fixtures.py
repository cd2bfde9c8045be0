"""Writes the checkpoint reader's test fixtures with Debian's python3-torch.

usage: /usr/bin/python3 make_fixtures.py <out_dir>
For every <name>.pth it writes <name>.json: the object tree as JSON (tuples as lists, tensors as
{"tensor": i} whose raw contiguous bytes are in <name>.<i>.bin with dtype/shape recorded, numpy
scalars as numbers, bytes as {"bytes": hex}, other objects as {"object": "module.Class"}).
"""
import collections
import json
import os
import pickle
import sys

import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(1234)
np.random.seed(1234)


class Custom:
    def __init__(self):
        self.alpha = 3
        self.name = "custom"


def describe(obj, name, tensors):
    if isinstance(obj, torch.Tensor):
        index = len(tensors)
        tensors.append(obj)
        t = obj.detach().contiguous()
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        raw.numpy().tofile(os.path.join(out, f"{name}.{index}.bin"))
        return {"tensor": index, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                "stride": list(obj.stride()), "offset": obj.storage_offset()}
    if isinstance(obj, np.ndarray):
        return describe(torch.from_numpy(np.ascontiguousarray(obj)), name, tensors)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return {"int": str(int(obj))}  # exact, also beyond 2^53
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, bytes):
        return {"bytes": obj.hex()}
    if isinstance(obj, (list, tuple)):
        return [describe(v, name, tensors) for v in obj]
    if isinstance(obj, dict):
        return {"dict": [[describe(k, name, tensors), describe(v, name, tensors)] for k, v in obj.items()],
                "ordered": isinstance(obj, collections.OrderedDict)}
    cls = type(obj)
    return {"object": f"{cls.__module__}.{cls.__qualname__}"}


def save(obj, name, **kwargs):
    torch.save(obj, os.path.join(out, f"{name}.pth"), **kwargs)
    tensors = []
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(describe(obj, name, tensors), f)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(2, 4, 3, bias=True)
        self.norm = torch.nn.InstanceNorm3d(4, affine=True)
        self.bn = torch.nn.BatchNorm3d(4)
        self.head = torch.nn.Conv3d(4, 3, 1)

    def forward(self, x):
        return self.head(self.bn(self.norm(self.conv(x))))


# 1. A real module's state_dict (OrderedDict with the _metadata attribute set through BUILD).
block = Block()
block.bn.running_mean.uniform_()
block.bn.num_batches_tracked += 7
save(block.state_dict(), "state_dict")

# 2. Every dtype the reader maps.
dtypes = collections.OrderedDict()
dtypes["f32"] = torch.randn(3, 5)
dtypes["f16"] = torch.randn(4, 2).half()
dtypes["bf16"] = torch.randn(6).bfloat16()
dtypes["f64"] = torch.randn(2, 3, dtype=torch.float64)
dtypes["i64"] = torch.tensor([-(2 ** 40), 0, 2 ** 62], dtype=torch.int64)
dtypes["i32"] = torch.tensor([-5, 7], dtype=torch.int32)
dtypes["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
dtypes["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
dtypes["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
dtypes["bool"] = torch.tensor([True, False, True])
dtypes["scalar"] = torch.tensor(2.5)
dtypes["empty"] = torch.zeros(0, 3)
save(dtypes, "dtypes")

# 3. Views sharing storages: transposed, sliced with an offset, strided, the same tensor twice.
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
views = collections.OrderedDict()
views["base"] = base
views["transposed"] = base.t()
views["sliced"] = base[1:3, ::2]
views["column"] = base[:, 5]
views["again"] = base
views["other"] = torch.arange(5, dtype=torch.int64)[1:]
save(views, "views")

# 4. Plain Python values, nested; once with torch's default protocol 2 and once with protocol 4.
nested = {
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31, 2 ** 63 - 1, -(2 ** 63)],
    "floats": [0.0, -1.5, 1e-300, 3.141592653589793],
    "text": ["", "plain", "ünïcødé ✓", "x" * 300],
    "flags": [True, False, None],
    "bytes": b"\x00\x01\xff binary",
    "tuple": (1, (2, (3,)), ()),
    "nested": {"a": {"b": {"c": [1, {"d": "deep"}]}}, 5: "int key"},
    "empty": [{}, [], ()],
    "device": torch.device("cpu"),
    "custom": Custom(),
    "tensor_in_list": [torch.ones(2, 2), {"t": torch.full((3,), 7, dtype=torch.int32)}],
}
save(nested, "nested")
save(nested, "nested_p4", pickle_protocol=4)

# 5. A fake nnU-Net v2 checkpoint_final.pth.
net = Block()
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99, nesterov=True)
net(torch.randn(1, 2, 5, 5, 5)).sum().backward()
opt.step()
plans = {"dataset_name": "Dataset001_Test", "configurations": {"3d_fullres": {"patch_size": [32, 32, 32]}}}
nnunet = {
    "network_weights": net.state_dict(),
    "optimizer_state": opt.state_dict(),
    "grad_scaler_state": None,
    "logging": {
        "mean_fg_dice": [np.float64(0.5), np.float64(0.625)],
        "ema_fg_dice": [np.float32(0.25), np.mean([0.5, 0.75])],
        "dice_per_class_or_region": [[np.float64(0.1), np.float64(0.2)], [0.3, 0.4]],
        "train_losses": [np.float64(-0.5), np.float64(-0.75)],
        "val_losses": [np.float64(-0.25), np.float64(-0.5)],
        "lrs": [0.01, 0.00999],
        "epoch_start_timestamps": [1700000000.125, 1700000100.5],
        "epoch_end_timestamps": [1700000099.25, 1700000199.75],
        "counts": np.arange(6, dtype=np.int64).reshape(2, 3),
        "flags": np.array([True, False]),
        "int32_scalar": np.int32(-7),
    },
    "_best_ema": np.float64(0.625),
    "current_epoch": 2,
    "init_args": {"plans": plans, "configuration": "3d_fullres", "fold": 0,
                  "dataset_json": {"channel_names": {"0": "CT"}, "labels": {"background": 0, "liver": 1}},
                  "unpack_dataset": True, "device": torch.device("cpu")},
    "trainer_name": "nnUNetTrainer",
    "inference_allowed_mirroring_axes": (0, 1, 2),
}
save(nnunet, "nnunet")

# 6. A MedSAM-style training checkpoint with DataParallel names.
medsam = {"model": collections.OrderedDict((f"module.{k}", v) for k, v in Block().state_dict().items()),
          "epoch": 3}
save(medsam, "medsam")

# 7. Files that are not readable checkpoints.
torch.save(dtypes, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
with open(os.path.join(out, "text.pth"), "w") as f:
    f.write("this is not a checkpoint\n")
with open(os.path.join(out, "plain.pkl"), "wb") as f:
    pickle.dump({"a": 1}, f, protocol=2)
open(os.path.join(out, "empty.pth"), "wb").close()
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(out, "scripted.pt"))

# 8. A ~100 MB state dict for the loading benchmark (only when asked: slow to write).
if os.environ.get("VOXSEG_BIG_FIXTURE"):
    big = collections.OrderedDict((f"layer{i}.weight", torch.randn(256, 1024)) for i in range(100))
    torch.save(big, os.path.join(out, "big.pth"))
