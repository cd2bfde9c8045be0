#!/usr/bin/python3
"""Test fixture: a small nnU-Net v2 result folder with random weights, and PyTorch's answer for one case.

usage: make_nnunet_folder.py OUT_DIR [--dims 2|3] [--folds N] [--regions] [--transpose 2,0,1]
                             [--mirror-axes 0,1,2|none] [--channels ct|ct,mr] [--seed S] [--resenc]
writes OUT_DIR/Dataset042_Test/nnUNetTrainer__<nnUNetPlans|nnUNetResEncUNetMPlans>__<3d_fullres|2d>/
         plans.json, dataset.json, fold_K/checkpoint_final.pth (K < N; a different random net per fold,
         keyed like nnU-Net's PlainConvUNet state_dict, aliases included; --resenc: a ResidualEncoderUNet
         planned as nnU-Net's ResEnc presets plan it, n_blocks_per_stage and one decoder conv per stage)
       OUT_DIR/reference.pth: {"image": [C,z,y,x] float32 (array order of the written image),
         "spacing_zyx": [3], "logits": [K,z,y,x], "probabilities": [K,z,y,x], "labels": [z,y,x]}
The case fills exactly one patch in nnU-Net's transposed axis order at the configuration's spacing, so
nnU-Net's pipeline reduces to: transpose, normalize, one tile (mirroring TTA averaged), folds
averaged, softmax (sigmoid for regions), argmax (regions in regions_class_order), transpose back.
The reference is computed here with that reduced pipeline, independently of voxseg.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_unet_fixture import PlainConvUNet, ResidualEncoderUNet, randomize  # noqa: E402

CT = {"mean": 50.0, "std": 30.0, "median": 48.0, "min": -200.0, "max": 400.0,
      "percentile_00_5": -100.0, "percentile_99_5": 300.0}


def arch_kwargs(dims, in_ch, classes, resenc=False):
    strides = [[1] * dims, [2] * dims, [2] * dims] if dims == 2 else [[1, 1, 1], [1, 2, 2], [2, 2, 2]]
    kernels = [[3] * dims] * 3 if dims == 2 else [[1, 3, 3], [3, 3, 3], [3, 3, 3]]
    conv = "Conv2d" if dims == 2 else "Conv3d"
    norm = "InstanceNorm2d" if dims == 2 else "InstanceNorm3d"
    kwargs = {"n_stages": 3, "features_per_stage": [4, 8, 16], "conv_op": f"torch.nn.modules.conv.{conv}",
              "kernel_sizes": kernels, "strides": strides, "n_conv_per_stage": [2, 2, 2],
              "n_conv_per_stage_decoder": [1, 2], "conv_bias": True,
              "norm_op": f"torch.nn.modules.instancenorm.{norm}", "norm_op_kwargs": {"eps": 1e-05, "affine": True},
              "dropout_op": None, "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU",
              "nonlin_kwargs": {"inplace": True}}
    cfg = {"dims": dims, "in_channels": in_ch, "num_classes": classes, "features_per_stage": [4, 8, 16],
           "kernel_sizes": kernels, "strides": strides, "n_conv_per_stage": [2, 2, 2],
           "n_conv_per_stage_decoder": [1, 2], "conv_bias": True, "norm": "instance", "norm_eps": 1e-05,
           "norm_affine": True, "negative_slope": 0.01}
    if resenc:  # as nnU-Net's ResEnc planners write it (blocks 1, 3, 4, ...; one decoder conv per stage)
        del kwargs["n_conv_per_stage"], cfg["n_conv_per_stage"]
        kwargs["n_blocks_per_stage"] = cfg["n_blocks_per_stage"] = [1, 3, 4]
        kwargs["n_conv_per_stage_decoder"] = cfg["n_conv_per_stage_decoder"] = [1, 1]
        cfg["encoder"] = "residual"
    return kwargs, cfg


def resampling(is_seg, order):
    return {"is_seg": is_seg, "order": order, "order_z": 0, "force_separate_z": None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--dims", type=int, default=3)
    ap.add_argument("--folds", type=int, default=1)
    ap.add_argument("--regions", action="store_true")
    ap.add_argument("--transpose", default="0,1,2")
    ap.add_argument("--mirror-axes", default="")
    ap.add_argument("--channels", default="ct")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resenc", action="store_true")
    a = ap.parse_args()

    dims = a.dims
    tf = [int(v) for v in a.transpose.split(",")]
    tb = [tf.index(i) for i in range(3)]
    channels = a.channels.split(",")
    # Patch and spacing in nnU-Net's transposed order; 2D: in-plane only.
    patch = [8, 32, 24] if dims == 3 else [32, 24]
    spacing = [2.0, 1.0, 1.5] if dims == 3 else [1.0, 1.5]
    if a.regions:
        labels = {"background": 0, "whole": [1, 2], "core": 2}
        order, heads = [1, 2], 2
    else:
        labels = {"background": 0, "liver": 1, "tumor": 2}
        order, heads = None, 3
    kwargs, cfg = arch_kwargs(dims, len(channels), heads, a.resenc)
    cls = "ResidualEncoderUNet" if a.resenc else "PlainConvUNet"
    plans_name = "nnUNetResEncUNetMPlans" if a.resenc else "nnUNetPlans"
    mirror = tuple(range(dims)) if a.mirror_axes == "" else (
        None if a.mirror_axes == "none" else tuple(int(v) for v in a.mirror_axes.split(",")))

    name = "3d_fullres" if dims == 3 else "2d"
    norms = ["CTNormalization" if c == "ct" else "ZScoreNormalization" for c in channels]
    config = {"data_identifier": f"nnUNetPlans_{name}", "preprocessor_name": "DefaultPreprocessor",
              "batch_size": 2, "patch_size": patch, "median_image_size_in_voxels": patch, "spacing": spacing,
              "normalization_schemes": norms, "use_mask_for_norm": [False] * len(channels),
              "resampling_fn_data": "resample_data_or_seg_to_shape",
              "resampling_fn_seg": "resample_data_or_seg_to_shape",
              "resampling_fn_data_kwargs": resampling(False, 3), "resampling_fn_seg_kwargs": resampling(True, 1),
              "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
              "resampling_fn_probabilities_kwargs": resampling(False, 1),
              "architecture": {"network_class_name": f"dynamic_network_architectures.architectures.unet.{cls}",
                               "arch_kwargs": kwargs,
                               "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]},
              "batch_dice": dims == 3}
    plans = {"dataset_name": "Dataset042_Test", "plans_name": plans_name,
             "original_median_spacing_after_transp": [2.0, 1.0, 1.5],
             "original_median_shape_after_transp": [8, 32, 24], "image_reader_writer": "SimpleITKIO",
             "transpose_forward": tf, "transpose_backward": tb, "configurations": {name: config},
             "experiment_planner_used": "ExperimentPlanner", "label_manager": "LabelManager",
             "foreground_intensity_properties_per_channel": {str(i): CT for i in range(len(channels))}}
    dataset = {"channel_names": {str(i): ("CT" if c == "ct" else "T2") for i, c in enumerate(channels)},
               "labels": labels, "numTraining": 10, "file_ending": ".nii.gz"}
    if order:
        dataset["regions_class_order"] = order

    folder = os.path.join(a.out, "Dataset042_Test", f"nnUNetTrainer__{plans_name}__{name}")
    os.makedirs(folder, exist_ok=True)
    json.dump(plans, open(os.path.join(folder, "plans.json"), "w"), indent=2)
    json.dump(dataset, open(os.path.join(folder, "dataset.json"), "w"), indent=2)

    gen = torch.Generator().manual_seed(a.seed)
    nets = []
    for k in range(a.folds):
        net = (ResidualEncoderUNet if a.resenc else PlainConvUNet)(cfg, deep_supervision=True)
        randomize(net, gen)
        net.eval()
        os.makedirs(os.path.join(folder, f"fold_{k}"), exist_ok=True)
        torch.save({"network_weights": net.state_dict(), "optimizer_state": None, "grad_scaler_state": None,
                    "logging": {}, "_best_ema": None, "current_epoch": 1000,
                    "init_args": {"plans": plans, "configuration": name, "fold": k, "dataset_json": dataset,
                                  "device": torch.device("cpu")},
                    "trainer_name": "nnUNetTrainer", "inference_allowed_mirroring_axes": mirror},
                   os.path.join(folder, f"fold_{k}", "checkpoint_final.pth"))
        net.decoder.deep_supervision = False
        nets.append(net)

    # One case: in the transposed order it is [C, *patch] (2D: 5 slices of one patch each).
    t_shape = patch if dims == 3 else [5] + patch
    x_t = torch.empty([len(channels)] + t_shape).uniform_(-300, 500, generator=gen)
    x_t = torch.where(x_t.abs() < 1, torch.full_like(x_t, 1.0), x_t).round()  # integers, never 0 (no crop)
    norm = []
    for c, kind in enumerate(channels):
        v = x_t[c].double()
        if kind == "ct":
            v = (v.clamp(CT["percentile_00_5"], CT["percentile_99_5"]) - CT["mean"]) / CT["std"]
        else:
            v = (v - v.mean()) / max(v.std(unbiased=False).item(), 1e-8)
        norm.append(v.float())
    xn = torch.stack(norm)[None]

    def tta(net, x):
        axes = [] if mirror is None else [m + 2 for m in mirror]
        out, n = 0, 0
        for mask in range(1 << len(axes)):
            flip = [axes[i] for i in range(len(axes)) if mask >> i & 1]
            out = out + (torch.flip(net(torch.flip(x, flip)), flip) if flip else net(x))
            n += 1
        return out / n

    with torch.no_grad():
        if dims == 3:
            logits = sum(tta(net, xn) for net in nets)[0] / len(nets)
        else:  # every slice along the first (transposed) axis is one 2D tile
            slices = xn[0].permute(1, 0, 2, 3)  # [S, C, Y, X]
            per = torch.stack([sum(tta(net, s[None]) for net in nets)[0] / len(nets) for s in slices])
            logits = per.permute(1, 0, 2, 3)
    if a.regions:
        probs = torch.sigmoid(logits)
        seg = torch.zeros(logits.shape[1:], dtype=torch.int64)
        for i, value in enumerate(order):
            seg[probs[i] > 0.5] = value
    else:
        probs = torch.softmax(logits, 0)
        seg = logits.argmax(0)
    # Back to the image's array order (transpose_backward), as nnU-Net exports.
    back = [0] + [1 + b for b in tb]
    image = x_t.permute(back).contiguous()
    full_spacing = spacing if dims == 3 else [1.7] + spacing  # 2D: the out-of-plane spacing is kept
    spacing_zyx = [full_spacing[b] for b in tb]
    torch.save({"image": image, "spacing_zyx": torch.tensor(spacing_zyx, dtype=torch.float64),
                "logits": logits.permute(back).contiguous(), "probabilities": probs.permute(back).contiguous(),
                "labels": seg.permute(tb).contiguous()},
               os.path.join(a.out, "reference.pth"))
    print(folder)


if __name__ == "__main__":
    main()
