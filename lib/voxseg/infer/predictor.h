#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/core/volume.h"
#include "voxseg/infer/segmentation.h"
#include "voxseg/io/volume_io.h"
#include "voxseg/infer/sliding_window.h"
#include "voxseg/io/dicom_seg.h"
#include "voxseg/models/network.h"
#include "voxseg/postprocess/components.h"
#include "voxseg/postprocess/instances.h"
#include "voxseg/preprocess/plan.h"

namespace voxseg::infer {

/// Everything predict needs from a model, whatever its source (voxseg bundle, nnU-Net v2 folder):
/// networks (folds, averaged), how to prepare the input, and the window it was trained for.
struct Model {
  std::vector<std::shared_ptr<models::Network>> networks;
  preprocess::Plan plan;
  std::vector<int64_t> patch_size;   ///< array order (after plan.transpose_forward); 2 entries for 2D
  std::vector<int64_t> mirror_axes;  ///< patch axes allowed for mirroring TTA
  OutputMapping output;              ///< label value of each output channel (default k), or regions
  postprocess::Options postprocess;  ///< the model's own defaults (flags can add to them)
  /// Cell models with (background, interior, boundary) classes: labels become instance ids.
  bool instances = false;
  postprocess::InstanceOptions instance_options;
  std::string id, sha256, source, device, precision;  ///< provenance
  std::string name;  ///< the model's name without version (DICOM SEG algorithm name); empty: id
  /// Names, colours and codes of the label values (for DICOM SEG output); background excluded.
  std::vector<io::SegmentInfo> segments;
  int64_t num_classes() const { return networks.empty() ? 0 : networks.front()->num_classes(); }
  int64_t in_channels() const { return networks.empty() ? 0 : networks.front()->in_channels(); }
};

/// What a user can change per run.
struct PredictOptions {
  double step = 0.5;
  int64_t batch_size = 1;
  bool tta = true;                ///< mirroring over the model's axes (nnU-Net's default)
  int64_t tta_batch = 0;          ///< mirrored copies per forward pass (WindowOptions::mirror_batch; 0 auto)
  bool stream = true;             ///< slab streaming; false keeps every accumulator slice (for tests)
  Accumulator accumulator = Accumulator::Auto;  ///< logits slab type (sliding_window.h)
  bool save_probabilities = false;
  /// Resample every class's logits back and take the argmax (the reference the default is tested
  /// against). Default: LabelResampler, which interpolates only where the neighbours' winners differ
  /// (same labels; used for label-based models without probabilities and with linear/nearest orders).
  bool resample_all_classes = false;
  bool dicom_seg = false;         ///< also write <name>.seg.dcm for cases read from a DICOM series
  postprocess::Options postprocess;
  io::ReadOptions read;  ///< how run_case reads the input volumes (DICOM series choice, tilt)
};

/// Result of one case: labels with the input's exact geometry, optional probabilities (softmax, or
/// sigmoid per region) [K,Z,Y,X] float32 on the same grid, and a report (timings, tiles, memory).
struct Prediction {
  Volume labels;         ///< uint8 when every label value fits, else int32 (write as uint16)
  Volume probabilities;  ///< data undefined unless requested
  Json report = Json::object();
};

/// nnU-Net's pipeline for one case: preprocess (crop, normalize, resample), sliding window with
/// Gaussian blending and mirroring TTA, logits resampled back to the cropped grid (order 1; nearest
/// out of plane when anisotropic), argmax / softmax (regions: sigmoid > 0.5), un-crop, un-transpose, postprocess. Logits are
/// finalized slab by slab along z so memory does not grow with classes x volume.
/// Throws Error(BadInput) for a channel mismatch or a 3D model on a 2D image, Error(BadModel) for an
/// inconsistent model.
Prediction predict_volume(const Volume& image, Model& model, const PredictOptions& options, Progress progress = {});

/// Peak resident memory of this process so far (VmHWM from /proc/self/status), bytes; 0 if unknown.
int64_t peak_rss_bytes();

}  // namespace voxseg::infer
