#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace voxseg::infer {

/// How a model's output channels become labels.
struct OutputMapping {
  /// Label written for output channel k (label-based: argmax; region-based: see below).
  std::vector<int64_t> values;
  /// Region-based (nnU-Net regions): channel k is a sigmoid region; every voxel whose probability is
  /// above 0.5 (logit > 0) gets values[k], later channels overwriting earlier ones, as nnU-Net's
  /// regions_class_order. Label-based otherwise: argmax over the channels.
  bool regions = false;
};

/// Labels [spatial...] (int64) from logits [K, spatial...].
at::Tensor labels_from_logits(const at::Tensor& logits, const OutputMapping& mapping);

/// Probabilities [K, spatial...] float32: softmax over K, or a sigmoid per channel for regions.
at::Tensor probabilities_from_logits(const at::Tensor& logits, const OutputMapping& mapping);

}  // namespace voxseg::infer
