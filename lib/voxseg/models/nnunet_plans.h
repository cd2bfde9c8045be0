#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/checkpoint/pth_reader.h"
#include "voxseg/core/json.h"
#include "voxseg/models/unet_config.h"
#include "voxseg/preprocess/normalize.h"

namespace voxseg::models::nnunet {

/// `resampling_fn_*_kwargs` of a configuration (nnU-Net's resample_data_or_seg_to_shape).
struct ResamplingKwargs {
  bool is_seg = false;
  int order = 3;
  int order_z = 0;
  std::optional<bool> force_separate_z;  ///< null in the plans: decided per case (anisotropy > 3)
};

/// Foreground intensity statistics of one channel over the training set (CT normalisation).
using IntensityProperties = preprocess::IntensityProperties;

/// One configuration of plans.json after `inherits_from` is resolved. Per-axis values are in
/// nnU-Net's transposed axis order (plans' transpose_forward applied), as nnU-Net stores them.
struct Configuration {
  std::string name;  ///< "3d_fullres", "2d", ...
  int dims = 3;
  std::vector<int64_t> patch_size;
  std::vector<double> spacing;
  std::vector<std::string> normalization_schemes;  ///< per channel: "CTNormalization", ...
  std::vector<bool> use_mask_for_norm;
  int64_t batch_size = 0;
  bool batch_dice = false;
  std::string resampling_fn_data, resampling_fn_seg, resampling_fn_probabilities;
  ResamplingKwargs resampling_data, resampling_seg, resampling_probabilities;
  std::string network_class_name;  ///< "dynamic_network_architectures.architectures.unet.PlainConvUNet"
  Json arch_kwargs;                ///< as in the plans (n_stages, features_per_stage, ...)
  std::optional<std::string> previous_stage;  ///< cascade: the low-res configuration feeding this one
  std::vector<std::string> next_stages;

  /// "PlainConvUNet" / "ResidualEncoderUNet" / ...: the class name without its module.
  std::string network_short_name() const;
};

/// plans.json (nnU-Net v2).
struct Plans {
  std::string dataset_name, plans_name, image_reader_writer, label_manager;
  std::vector<int64_t> transpose_forward, transpose_backward;
  std::vector<std::string> configuration_names;  ///< in file order
  std::map<int64_t, IntensityProperties> foreground_intensity_properties;  ///< by channel index
  Json raw;  ///< the whole document, for fields voxseg does not model

  /// The named configuration with `inherits_from` resolved (a child's keys override its parent's).
  /// Throws Error(BadModel) for an unknown name, an inheritance cycle or an invalid field.
  Configuration configuration(const std::string& name) const;
  std::string path;  ///< for messages
};

/// One entry of dataset.json "labels": a label (one value) or a region (several values).
struct Label {
  std::string name;
  std::vector<int64_t> values;
};

/// dataset.json (nnU-Net v2).
struct DatasetInfo {
  std::vector<std::string> channel_names;  ///< by channel index ("0", "1", ...)
  std::vector<Label> labels;               ///< file order, "ignore" excluded
  std::optional<int64_t> ignore_label;
  std::vector<int64_t> regions_class_order;
  std::string file_ending;
  int64_t num_training = 0;

  /// Region-based training: some label lists several values (outputs are sigmoid per region).
  bool has_regions() const;
  /// Sorted distinct label values including background (label-based models).
  std::vector<int64_t> all_labels() const;
  /// Regions (or labels) other than background: the cascade's extra input channels.
  std::vector<std::vector<int64_t>> foreground_regions() const;
  /// Output channels of the network: labels incl. background, or foreground regions.
  int64_t num_segmentation_heads() const;
};

/// Parsers. `path` names the file in messages; every problem is Error(BadModel)
/// "invalid nnU-Net plans '<path>': field '<a.b[2]>': <what>".
Plans parse_plans(const Json& json, const std::string& path);
Plans read_plans(const std::string& path);
DatasetInfo parse_dataset_json(const Json& json, const std::string& path);
DatasetInfo read_dataset_json(const std::string& path);

/// nnU-Net's normalisation for a dataset.json channel name (case-insensitive: "CT" ->
/// "CTNormalization", "noNorm", "zscore", "rescale_to_0_1", "rgb_to_0_1"; anything else z-score).
std::string normalization_for_channel(const std::string& channel_name);

/// The configuration's architecture as voxseg's native U-Net: PlainConvUNet, or ResidualEncoderUNet
/// with BasicBlockD blocks (the ResEnc presets) as encoder "residual" (conv_op Conv2d/Conv3d, norm
/// InstanceNorm/BatchNorm/none, LeakyReLU/ReLU). in_channels = dataset channels (+ foreground labels
/// for a cascade stage); num_classes = segmentation heads. Throws Error(BadModel) naming the
/// unsupported class or kwarg (other classes, BottleneckD blocks, kwargs the class does not take).
UNetConfig to_unet_config(const Configuration& configuration, const DatasetInfo& dataset);

/// What voxseg uses from fold_K/checkpoint_*.pth.
struct TrainedCheckpoint {
  checkpoint::StateDict weights;          ///< network_weights, in order
  std::optional<std::vector<int64_t>> mirror_axes;  ///< inference_allowed_mirroring_axes (nullopt: None)
  std::string trainer_name;               ///< "" when absent
  std::string configuration;              ///< init_args.configuration, "" when absent
  int64_t epoch = -1;                     ///< current_epoch, -1 when absent
};
/// Reads a checkpoint written by nnU-Net v2's trainer. Throws Error(BadModel).
TrainedCheckpoint read_checkpoint(const std::string& pth_path);

/// A fold folder of a result folder and the checkpoints it holds.
struct Fold {
  std::string name;  ///< "fold_0" ... or "fold_all"
  std::string dir;
  std::vector<std::string> checkpoints;  ///< checkpoint_final.pth, checkpoint_best.pth, ... (sorted)
};

/// A trained-model folder `<Trainer>__<Plans>__<configuration>` (or any folder holding plans.json
/// and dataset.json).
struct ResultFolder {
  std::string dir;
  std::string trainer, plans_identifier, configuration;  ///< from the folder name; "" if not in that form
  Plans plans;
  DatasetInfo dataset;
  std::vector<Fold> folds;  ///< sorted: fold_0, fold_1, ..., fold_all
};
/// Reads plans.json and dataset.json and lists the folds. Throws Error(BadModel) when the folder or
/// either file is missing or invalid.
ResultFolder open_result_folder(const std::string& dir);
/// Folds sorted by number (fold_all last); folders without .pth files are listed with none.
std::vector<Fold> list_folds(const std::string& dir);

}  // namespace voxseg::models::nnunet
