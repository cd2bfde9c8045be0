#pragma once
#include <string>
#include <vector>

#include "voxseg/infer/predictor.h"
#include "voxseg/models/device.h"
#include "voxseg/models/nnunet_plans.h"

namespace voxseg::infer {

/// Which trained networks of an nnU-Net v2 result folder to run (`voxseg predict --nnunet`).
struct NnunetSelection {
  std::string configuration;  ///< "" : the folder's (from its name or checkpoint), else 3d_fullres
  std::vector<std::string> folds;  ///< "0", "1", ..., "all" (fold_all); empty: every fold_N with the checkpoint
  std::string checkpoint = "checkpoint_final.pth";
};

/// --folds "0,1,2" -> {"0", "1", "2"}; "all" is fold_all; "" -> {} (every fold). Throws Error(Usage)
/// for anything else.
std::vector<std::string> parse_fold_list(const std::string& text);

/// The trained-model folder to use for `dir`: `dir` itself when it holds plans.json, else the one
/// `<Trainer>__<Plans>__<configuration>` subfolder of a dataset folder (nnUNet_results/DatasetXXX)
/// matching `configuration` (default 3d_fullres). Throws Error(BadModel) when there is none or
/// several (named, so the user can pick one).
std::string resolve_nnunet_folder(const std::string& dir, const std::string& configuration);

/// nnU-Net's preprocessing for a configuration as a voxseg Plan: transpose_forward, crop to non-zero,
/// per-channel normalization (CT with the plans' foreground intensity properties: clip to
/// percentile_00_5..percentile_99_5, then (x - mean) / std; z-score with or without the mask),
/// target spacing and the data / probabilities resampling kwargs. Throws Error(BadModel) for a scheme
/// or resampling function voxseg does not implement, or missing CT statistics.
preprocess::Plan plan_from_nnunet(const models::nnunet::Plans& plans, const models::nnunet::Configuration& config);

/// Loads an nnU-Net v2 result folder as a Model: one native U-Net per selected fold (logits averaged
/// by the sliding window), the plan above, the patch size, the checkpoint's mirroring axes, and the
/// label values (regions: sigmoid per region in regions_class_order). Checks the device first.
/// Throws Error(BadModel) for a missing fold or checkpoint, a cascade stage, an unsupported network
/// class or mismatched weights, Error(Usage) for a --configuration that contradicts the folder,
/// Error(NoDevice) as models::resolve_device.
Model load_nnunet_model(const std::string& dir, const NnunetSelection& selection, const std::string& device,
                        models::Precision precision);

}  // namespace voxseg::infer
