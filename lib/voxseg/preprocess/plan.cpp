#include "voxseg/preprocess/plan.h"

#include <algorithm>
#include <utility>

#include "voxseg/core/error.h"
#include "voxseg/core/json_fields.h"

namespace voxseg::preprocess {

std::array<double, 3> array_spacing(const Geometry& g) { return {g.spacing[2], g.spacing[1], g.spacing[0]}; }

Preprocessed preprocess_case(const Volume& image, const Plan& plan) {
  at::Tensor data = image.data.dim() == 3 ? image.data.unsqueeze(0) : image.data;
  if (data.dim() != 4) fail(ExitCode::BadInput, "expected a 3D volume or [C,Z,Y,X] channels, got {} dims", data.dim());
  if (!plan.channels.empty() && data.size(0) != int64_t(plan.channels.size()))
    fail(ExitCode::BadInput, "the model expects {} channel(s), the input has {}", plan.channels.size(), data.size(0));
  Preprocessed out;
  const auto& t = plan.transpose_forward;
  const auto spacing = array_spacing(image.geometry);
  const at::Tensor raw = data;  // input axis order, for the crop box
  data = data.permute({0, 1 + t[0], 1 + t[1], 1 + t[2]});
  for (size_t a = 0; a < 3; ++a) {
    out.spacing[a] = spacing[size_t(t[a])];
    out.shape_before_crop[a] = data.size(int64_t(a) + 1);
  }

  // One pass finds the crop box (no mask); the crop and the transposition stay views of the input,
  // which keeps its own type until normalize_channels converts, normalizes and writes float32 once.
  // The hole-filled mask is made (on the crop only) when a z-score channel needs it.
  const std::vector<NormalizeOptions>& options = plan.channels;
  const bool needs_mask = std::any_of(options.begin(), options.end(), [](const NormalizeOptions& o) {
    return o.use_mask && o.scheme == Normalization::ZScore;
  });
  if (needs_mask && !plan.crop_to_nonzero)
    fail(ExitCode::BadModel, "z-score within the non-zero mask needs crop_to_nonzero");
  if (plan.crop_to_nonzero) {
    const BoundingBox box = nonzero_box(raw);
    for (size_t a = 0; a < 3; ++a) {
      out.box.begin[a] = box.begin[size_t(t[a])];
      out.box.end[a] = box.end[size_t(t[a])];
    }
    for (int a = 0; a < 3; ++a)
      data = data.narrow(1 + a, out.box.begin[size_t(a)], out.box.end[size_t(a)] - out.box.begin[size_t(a)]);
  } else {
    out.box.end = out.shape_before_crop;
  }
  at::Tensor mask;
  if (needs_mask) mask = nonzero_mask(data);  // on the crop: the same holes as on the whole grid
  data = normalize_channels(data, options, mask);
  mask = at::Tensor();

  out.target_spacing = out.spacing;
  if (!plan.target_spacing.empty()) {
    if (plan.target_spacing.size() != 3 && plan.target_spacing.size() != 2)
      fail(ExitCode::BadModel, "target spacing needs 2 or 3 values, got {}", plan.target_spacing.size());
    const size_t off = 3 - plan.target_spacing.size();
    for (size_t a = off; a < 3; ++a) out.target_spacing[a] = plan.target_spacing[a - off];
    if (plan.dims == 2) out.target_spacing[0] = out.spacing[0];  // 2D: keep the out-of-plane spacing
  }
  const std::array<int64_t, 3> shape{data.size(1), data.size(2), data.size(3)};
  const auto new_shape = compute_new_shape(shape, out.spacing, out.target_spacing);
  out.resample_orders = axis_orders(out.spacing, out.target_spacing, plan.image_resampling);
  out.data = new_shape == shape ? data : resample_to_shape(std::move(data), new_shape, out.resample_orders);
  return out;
}

Json plan_to_json(const Plan& plan) {
  Json j = Json::object();
  j["dims"] = plan.dims;
  j["transpose_forward"] = json::array_of(plan.transpose_forward);
  j["crop_to_nonzero"] = plan.crop_to_nonzero;
  Json ch = Json::array();
  for (const auto& c : plan.channels) ch.push_back(normalization_to_json(c));
  j["normalization"] = ch;
  j["target_spacing"] = json::array_of(plan.target_spacing);
  j["image_order"] = plan.image_resampling.order;
  j["image_order_z"] = plan.image_resampling.order_z;
  j["logits_order"] = plan.logits_resampling.order;
  j["logits_order_z"] = plan.logits_resampling.order_z;
  return j;
}

}  // namespace voxseg::preprocess
