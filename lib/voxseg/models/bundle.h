#pragma once
#include <c10/core/Device.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/coded_concept.h"
#include "voxseg/core/json.h"
#include "voxseg/models/device.h"
#include "voxseg/models/network.h"
#include "voxseg/models/unet.h"
#include "voxseg/models/unet_config.h"
#include "voxseg/preprocess/normalize.h"

namespace voxseg::models {

class UNet;

/// Intensity normalization of one input channel: the one normalization type (preprocess/normalize.h),
/// read and written by preprocess::normalization_from_json / normalization_to_json.
using NormalizationSpec = preprocess::NormalizeOptions;

struct ChannelSpec {
  std::string name;  ///< "CT", "T1", ...
  NormalizationSpec normalization;
};

/// A coded concept (SNOMED CT by default); one type for bundles and the DICOM SEG writer.
using voxseg::CodedConcept;

struct LabelSpec {
  int64_t id = 0;  ///< value written in label maps
  std::string name;
  std::optional<std::array<int, 3>> color;  ///< RGB 0..255
  std::optional<CodedConcept> snomed;
};

/// {"type": "unet", ...} or {"type": "torchscript", "file": ...}.
struct ArchitectureSpec {
  std::string type = "unet";
  UNetConfig unet;       ///< type "unet"
  std::string file;      ///< type "torchscript": module file, relative to the bundle
};

/// A model bundle: model.json plus weights (docs/model-bundles.md). Per-axis lists are in array order
/// (z, y, x); a 2D model's lists have two entries (the axes other than slice_axis).
struct ModelBundle {
  std::filesystem::path dir;  ///< folder the bundle was loaded from (empty for a spec not yet saved)
  int schema_version = 1;
  std::string name, description;
  int dims = 3;
  ArchitectureSpec architecture;
  std::string weights = "weights.pt";  ///< type "unet": weights file, relative to the bundle
  std::vector<ChannelSpec> channels;
  std::vector<LabelSpec> labels;  ///< in output-channel order: logits channel k is labels[k]
  bool allow_noncontiguous_ids = false;
  std::vector<double> target_spacing;  ///< mm; empty: run at the input's spacing
  std::vector<int64_t> patch_size;
  std::vector<int64_t> mirror_axes;  ///< axes allowed for mirroring TTA (default: all)
  bool crop_to_nonzero = false;
  int slice_axis = 0;  ///< 2D models over 3D volumes: the axis sliced along (array order)
  Json postprocess;    ///< optional object, interpreted by the postprocess module
  Json training;       ///< optional provenance object (written by voxseg train)

  std::string weights_sha256;  ///< of the weights file (TorchScript: of the module file); set by load
  c10::Device device{c10::kCPU};     ///< resolved by load_bundle
  Precision precision = Precision::FP32;

  int64_t in_channels() const { return int64_t(channels.size()); }
  int64_t num_classes() const { return int64_t(labels.size()); }
  /// "<name>@<first 12 hex of weights sha256>": names the exact weights in provenance.
  std::string id() const;
  /// The path of the file holding the parameters (weights, or the TorchScript module).
  std::filesystem::path weights_path() const;
  /// Label value of output channel k.
  int64_t label_value(int64_t channel) const { return labels.at(size_t(channel)).id; }
};

/// Loads and validates `dir`/model.json, checks the weights file exists and hashes it, resolves the
/// device ("auto", "cpu", "cuda[:N]") and checks the precision for it. Throws Error(BadModel) with one
/// line naming the file and the first bad field ("invalid model 'm/model.json': field 'labels[1].id':
/// ..."), Error(NoDevice) for an unavailable device or fp16 on the CPU, Error(Usage) for bad text.
ModelBundle load_bundle(const std::filesystem::path& dir, const std::string& device = "auto",
                        Precision precision = Precision::FP32);

/// Validates a parsed model.json (what load_bundle does before touching files); `file` names it in
/// messages. Throws Error(BadModel).
ModelBundle parse_bundle_json(const Json& json, const std::string& file);

/// model.json for a bundle (fields in the documented order; optional ones only when set).
Json bundle_to_json(const ModelBundle& bundle);

/// Writes `dir`/weights (LibTorch archive, nnU-Net names) then `dir`/model.json, each atomically, so
/// a folder with a model.json always has matching weights. Creates `dir` if needed. Without
/// `overwrite`, an existing model.json is Error(CannotWrite). The spec must describe `net`
/// (architecture type "unet", same configuration): otherwise Error(Usage). Returns the bundle as
/// load_bundle would read it (with weights_sha256 set).
ModelBundle save_bundle(const std::filesystem::path& dir, const ModelBundle& spec, const UNet& net,
                        bool overwrite = false);

/// The network for a bundle on the bundle's device and precision: native U-Net (weights loaded and
/// checked) or TorchScript. Throws Error(BadModel) for unreadable/mismatched weights or a backend
/// that this build lacks (named), Error(NoDevice) as load_bundle.
std::unique_ptr<Network> make_network(const ModelBundle& bundle);
std::unique_ptr<Network> make_network(const ModelBundle& bundle, const c10::Device& device, Precision precision);

/// A native U-Net with `weights` (nnU-Net names; `source` names them in messages) on `device`, in eval
/// mode, running in `precision`; `name` identifies it in errors. Throws Error(BadModel) for mismatched
/// weights, Error(NoDevice) as make_network.
std::unique_ptr<Network> make_unet_network(const UNetConfig& config, const StateDict& weights,
                                           const std::string& source, const std::string& name,
                                           const c10::Device& device, Precision precision);

/// Backends compiled into this build ("unet", "torchscript").
std::vector<std::string> available_backends();

}  // namespace voxseg::models
