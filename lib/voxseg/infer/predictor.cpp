#include "voxseg/infer/predictor.h"

#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>

#include "voxseg/core/env_switch.h"
#include "voxseg/core/error.h"
#include "voxseg/core/json_fields.h"
#include "voxseg/core/log.h"
#include "voxseg/infer/label_resampler.h"

namespace voxseg::infer {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Receives logits slices of the network grid in increasing z and emits slices of the cropped input
// grid as soon as their (one or two) source slices have arrived: in-plane resampling per slice,
// then order 0/1 along z with the same arithmetic as preprocess::resample_axis.
class SliceResampler {
 public:
  using Emit = std::function<void(int64_t z, const at::Tensor& logits)>;
  SliceResampler(std::array<int64_t, 3> in, std::array<int64_t, 3> out, std::array<int, 3> orders, Emit emit)
      : out_(out), orders_(orders), emit_(std::move(emit)),
        taps_(preprocess::linear_taps(in[0], out[0], orders[0] <= 1 ? orders[0] : 1)) {}

  void push(int64_t z, const at::Tensor& slice) {
    at::Tensor s = preprocess::resample_axis(slice, 1, out_[1], orders_[1]);
    s = preprocess::resample_axis(s, 2, out_[2], orders_[2]).contiguous();
    cache_[z] = s;
    while (next_ < out_[0] && taps_[size_t(next_)].i1 <= z) {
      const auto& t = taps_[size_t(next_)];
      const at::Tensor& a = cache_.at(t.i0);
      const at::Tensor& b = cache_.at(t.i1);
      at::Tensor o = torch::empty_like(a);
      preprocess::blend_rows(a.data_ptr<float>(), b.data_ptr<float>(), o.data_ptr<float>(), a.numel(), t, orders_[0]);
      emit_(next_, o);
      ++next_;
    }
    const int64_t keep_from = next_ < out_[0] ? taps_[size_t(next_)].i0 : INT64_MAX;
    while (!cache_.empty() && cache_.begin()->first < keep_from) cache_.erase(cache_.begin());
    held_ = std::max(held_, int64_t(cache_.size()));
  }
  int64_t emitted() const { return next_; }

 private:
  std::array<int64_t, 3> out_;
  std::array<int, 3> orders_;
  Emit emit_;
  std::vector<preprocess::LinearTap> taps_;
  std::map<int64_t, at::Tensor> cache_;
  int64_t next_ = 0, held_ = 0;
};

std::array<int, 3> inverse(const std::array<int, 3>& t) {
  std::array<int, 3> inv{};
  for (int a = 0; a < 3; ++a) inv[size_t(t[size_t(a)])] = a;
  return inv;
}


}  // namespace

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

Prediction predict_volume(const Volume& image, Model& model, const PredictOptions& options, Progress progress) {
  if (model.networks.empty()) fail(ExitCode::BadModel, "the model has no network");
  const auto& plan = model.plan;
  const int64_t classes = model.num_classes();
  if (image.geometry.dims == 2 && model.patch_size.size() == 3)
    fail(ExitCode::BadInput, "a 3D model cannot segment a 2D image");
  if (image.channels() != model.in_channels())
    fail(ExitCode::BadInput, "the model expects {} channel(s), the input has {}", model.in_channels(),
         image.channels());
  OutputMapping mapping = model.output;
  if (mapping.values.empty())
    for (int64_t k = 0; k < classes; ++k) mapping.values.push_back(k);
  if (int64_t(mapping.values.size()) != classes)
    fail(ExitCode::BadModel, "the model has {} label value(s) for {} output channel(s)", mapping.values.size(),
         classes);
  const auto& values = mapping.values;

  Prediction result;
  Json& report = result.report;
  const auto t_pre = Clock::now();
  const preprocess::Preprocessed pre = preprocess::preprocess_case(image, plan);
  const double pre_seconds = seconds_since(t_pre);

  // Output grid: the transposed input grid; predictions land inside the crop box.
  const auto& full = pre.shape_before_crop;
  const auto crop = pre.box.shape();
  const std::array<int64_t, 3> net_shape{pre.data.size(1), pre.data.size(2), pre.data.size(3)};
  const auto orders = preprocess::axis_orders(pre.target_spacing, pre.spacing, plan.logits_resampling);
  const bool fits_uint8 = *std::max_element(values.begin(), values.end()) <= 255 &&
                          *std::min_element(values.begin(), values.end()) >= 0;
  at::Tensor labels = torch::zeros({full[0], full[1], full[2]}, fits_uint8 ? torch::kByte : torch::kInt);
  at::Tensor probs;
  if (options.save_probabilities) {
    probs = torch::zeros({classes, full[0], full[1], full[2]}, torch::kFloat);
    if (!mapping.regions) probs.select(0, 0).fill_(1.0f);  // outside the crop box: background, as nnU-Net
  }
  double export_seconds = 0;
  auto write_slice = [&](int64_t zc, const at::Tensor& logits) {  // timed by its callers
    const int64_t z = pre.box.begin[0] + zc;
    const at::Tensor lab = labels_from_logits(logits, mapping);
    labels.select(0, z).narrow(0, pre.box.begin[1], crop[1]).narrow(1, pre.box.begin[2], crop[2]).copy_(lab);
    if (probs.defined())
      probs.select(1, z).narrow(1, pre.box.begin[1], crop[1]).narrow(2, pre.box.begin[2], crop[2])
          .copy_(probabilities_from_logits(logits, mapping));
  };

  WindowOptions window;
  window.patch_size = model.patch_size;
  window.step = options.step;
  window.batch_size = options.batch_size;
  window.mirror = options.tta;
  window.mirror_batch = options.tta_batch;
  window.mirror_axes = model.mirror_axes;
  window.stream = options.stream;
  window.accumulator = options.accumulator;
  const bool streamable = orders[0] <= 1;
  SliceResampler resampler(net_shape, crop, orders, write_slice);
  // Labels only: interpolate only where the network-grid winners around a voxel differ.
  const bool labels_only = streamable && orders[1] <= 1 && orders[2] <= 1 && !probs.defined() && !mapping.regions &&
                           !options.resample_all_classes && !env_switch("VOXSEG_RESAMPLE_ALL_CLASSES", false);
  std::optional<LabelResampler> label_resampler;
  if (labels_only)
    label_resampler.emplace(net_shape, crop, orders, values, [&](int64_t zc, const at::Tensor& lab) {
      const int64_t z = pre.box.begin[0] + zc;
      labels.select(0, z).narrow(0, pre.box.begin[1], crop[1]).narrow(1, pre.box.begin[2], crop[2]).copy_(lab);
    });
  std::vector<at::Tensor> all_slices;  // only when the z order needs the whole volume (cubic)
  const auto t_win = Clock::now();
  const WindowStats stats = sliding_window(
      pre.data, model.networks, window,
      [&](int64_t z, const at::Tensor& logits) {
        if (label_resampler) {
          const auto t0 = Clock::now();
          label_resampler->push(z, logits);
          export_seconds += seconds_since(t0);
        } else if (streamable) {
          const auto t0 = Clock::now();
          resampler.push(z, logits);
          export_seconds += seconds_since(t0);
        } else {
          all_slices.push_back(logits);
        }
      },
      progress);
  if (!streamable) {
    const auto t0 = Clock::now();
    log::debug("logits order {} along z: resampling the whole volume at once", orders[0]);
    at::Tensor all = preprocess::resample_to_shape(torch::stack(all_slices, 1), crop, orders);
    all_slices.clear();
    for (int64_t z = 0; z < crop[0]; ++z) write_slice(z, all.select(1, z).contiguous());
    export_seconds += seconds_since(t0);
  } else if (const int64_t n = label_resampler ? label_resampler->emitted() : resampler.emitted(); n != crop[0]) {
    fail(ExitCode::Internal, "resampling back produced {} of {} slices", n, crop[0]);
  }
  const double window_seconds = seconds_since(t_win);

  // Back to the input's axis order and geometry.
  const auto inv = inverse(plan.transpose_forward);
  labels = labels.permute({inv[0], inv[1], inv[2]}).contiguous();
  if (image.geometry.dims == 2) labels = labels.reshape(image.data.sizes().slice(image.data.dim() - 3));
  const auto t_post = Clock::now();
  Json post = Json::object();
  if (options.postprocess.any()) post = postprocess::apply(labels, image.geometry.voxel_volume_mm3(), options.postprocess);
  if (model.instances) {
    labels = postprocess::instances_from_classes(labels, model.instance_options);
    report["instances"] = labels.numel() ? labels.max().item<int64_t>() : int64_t(0);
  }
  const double post_seconds = seconds_since(t_post);
  result.labels = Volume{labels, image.geometry};
  if (probs.defined())
    result.probabilities = Volume{probs.permute({0, 1 + inv[0], 1 + inv[1], 1 + inv[2]}).contiguous(), image.geometry};

  Json timings = Json::object();
  timings["preprocess_s"] = pre_seconds;
  timings["sliding_window_s"] = window_seconds - export_seconds;
  timings["network_s"] = stats.network_seconds;
  timings["resample_back_s"] = export_seconds;
  timings["postprocess_s"] = post_seconds;
  report["timings"] = timings;
  report["tiles"] = stats.tiles;
  report["forward_passes"] = stats.forward_passes;
  report["patch_size"] = json::array_of(model.patch_size);
  report["step"] = options.step;
  report["batch_size"] = options.batch_size;
  report["tta"] = options.tta;
  report["tta_copies_per_pass"] = stats.mirror_copies;
  report["network_shape"] = json::array_of(std::vector<int64_t>{net_shape[0], net_shape[1], net_shape[2]});
  report["crop_box"] = json::array_of(std::vector<int64_t>{pre.box.begin[0], pre.box.begin[1], pre.box.begin[2],
                                                            pre.box.end[0], pre.box.end[1], pre.box.end[2]});
  report["target_spacing"] = json::array_of(pre.target_spacing);
  report["accumulator_slices_max"] = stats.max_slices_held;
  report["accumulator"] = accumulator_name(stats.accumulator);
  report["accumulator_mb"] = double(stats.accumulator_bytes) / (1024.0 * 1024.0);
  report["streamed"] = options.stream && streamable;
  Json back = Json::object();
  back["method"] = label_resampler ? "labels_at_boundaries" : "all_classes";
  if (label_resampler)
    back["interpolated_fraction"] =
        label_resampler->emitted_voxels() > 0
            ? double(label_resampler->interpolated_voxels()) / double(label_resampler->emitted_voxels())
            : 0.0;
  report["resample_back"] = back;
  if (options.postprocess.any()) report["postprocess"] = post;
  report["peak_rss_mb"] = double(peak_rss_bytes()) / (1024.0 * 1024.0);
  return result;
}

}  // namespace voxseg::infer
