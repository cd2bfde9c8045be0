#!/usr/bin/python3
"""Test tool: writes a voxseg model bundle (native U-Net, one CT channel) as an nnU-Net v2 result folder.

usage: bundle_to_nnunet.py BUNDLE_DIR OUT_DIR
writes OUT_DIR/Dataset901_Bundle/nnUNetTrainer__nnUNetPlans__3d_fullres/{plans.json, dataset.json,
       fold_0/checkpoint_final.pth}
The bundle's weights (LibTorch archive, nnU-Net parameter names) go into a PyTorch PlainConvUNet
(make_unet_fixture.py) whose full state_dict, aliases included, is saved as network_weights. The plans
carry the bundle's target spacing, patch, CT normalization (clip_low/clip_high as the 0.5/99.5
percentiles) and mirror axes, so `voxseg predict --nnunet` must label like `voxseg predict -m`.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_nnunet_folder import resampling  # noqa: E402
from make_unet_fixture import PlainConvUNet  # noqa: E402


def main():
    bundle, out = sys.argv[1:3]
    m = json.load(open(os.path.join(bundle, "model.json")))
    arch = m["architecture"]
    assert arch["type"] == "unet" and arch["dims"] == 3 and len(m["channels"]) == 1, "3D one-channel U-Net bundles only"
    norm = m["channels"][0]["normalization"]
    assert norm["scheme"] == "ct", "CT bundles only"
    net = PlainConvUNet(arch, deep_supervision=True)
    src = torch.jit.load(os.path.join(bundle, m.get("weights", "weights.pt")), map_location="cpu").state_dict()
    missing, unexpected = net.load_state_dict(src, strict=False)
    aliases = (".all_modules.", "decoder.encoder.")
    assert not unexpected, unexpected
    assert all(any(a in k for a in aliases) for k in missing), [k for k in missing if not any(a in k for a in aliases)]

    d = 3
    kwargs = {"n_stages": len(arch["features_per_stage"]), "features_per_stage": arch["features_per_stage"],
              "conv_op": "torch.nn.modules.conv.Conv3d", "kernel_sizes": arch["kernel_sizes"],
              "strides": arch["strides"], "n_conv_per_stage": arch["n_conv_per_stage"],
              "n_conv_per_stage_decoder": arch["n_conv_per_stage_decoder"], "conv_bias": arch["conv_bias"],
              "norm_op": f"torch.nn.modules.instancenorm.InstanceNorm{d}d",
              "norm_op_kwargs": {"eps": arch["norm_eps"], "affine": arch["norm_affine"]},
              "dropout_op": None, "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU",
              "nonlin_kwargs": {"inplace": True, "negative_slope": arch["negative_slope"]}}
    assert arch["norm"] == "instance", "instance-norm bundles only"
    config = {"data_identifier": "nnUNetPlans_3d_fullres", "preprocessor_name": "DefaultPreprocessor",
              "batch_size": 2, "patch_size": m["patch_size"], "median_image_size_in_voxels": m["patch_size"],
              "spacing": m["target_spacing"], "normalization_schemes": ["CTNormalization"],
              "use_mask_for_norm": [False], "resampling_fn_data": "resample_data_or_seg_to_shape",
              "resampling_fn_seg": "resample_data_or_seg_to_shape",
              "resampling_fn_data_kwargs": resampling(False, 3), "resampling_fn_seg_kwargs": resampling(True, 1),
              "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
              "resampling_fn_probabilities_kwargs": resampling(False, 1),
              "architecture": {"network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
                               "arch_kwargs": kwargs,
                               "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]},
              "batch_dice": True}
    ct = {"mean": norm["mean"], "std": norm["std"], "median": norm["mean"], "min": norm["clip_low"],
          "max": norm["clip_high"], "percentile_00_5": norm["clip_low"], "percentile_99_5": norm["clip_high"]}
    plans = {"dataset_name": "Dataset901_Bundle", "plans_name": "nnUNetPlans",
             "original_median_spacing_after_transp": m["target_spacing"],
             "original_median_shape_after_transp": m["patch_size"], "image_reader_writer": "SimpleITKIO",
             "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
             "configurations": {"3d_fullres": config}, "experiment_planner_used": "ExperimentPlanner",
             "label_manager": "LabelManager", "foreground_intensity_properties_per_channel": {"0": ct}}
    dataset = {"channel_names": {"0": "CT"}, "labels": {l["name"]: l["id"] for l in m["labels"]},
               "numTraining": 1, "file_ending": ".nii.gz"}
    folder = os.path.join(out, "Dataset901_Bundle", "nnUNetTrainer__nnUNetPlans__3d_fullres")
    os.makedirs(os.path.join(folder, "fold_0"), exist_ok=True)
    json.dump(plans, open(os.path.join(folder, "plans.json"), "w"), indent=2)
    json.dump(dataset, open(os.path.join(folder, "dataset.json"), "w"), indent=2)
    torch.save({"network_weights": net.state_dict(), "current_epoch": 1, "trainer_name": "nnUNetTrainer",
                "init_args": {"configuration": "3d_fullres", "fold": 0},
                "inference_allowed_mirroring_axes": tuple(m.get("mirror_axes") or range(d))},
               os.path.join(folder, "fold_0", "checkpoint_final.pth"))
    print(folder)


if __name__ == "__main__":
    main()
