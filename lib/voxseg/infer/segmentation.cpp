#include "voxseg/infer/segmentation.h"

#include <torch/torch.h>

#include "voxseg/core/error.h"

namespace voxseg::infer {

at::Tensor labels_from_logits(const at::Tensor& logits, const OutputMapping& mapping) {
  const int64_t k = logits.size(0);
  if (int64_t(mapping.values.size()) != k)
    fail(ExitCode::BadModel, "the model has {} label value(s) for {} output channel(s)", mapping.values.size(), k);
  if (!mapping.regions) {
    const at::Tensor lut = torch::tensor(mapping.values, torch::kLong);
    return lut.index_select(0, logits.argmax(0).flatten()).view(logits.sizes().slice(1));
  }
  // sigmoid(x) > 0.5 rather than x > 0: identical except where float32 rounds sigmoid to 0.5, which
  // nnU-Net (thresholding the probabilities) leaves unlabelled too.
  const at::Tensor on = torch::sigmoid(logits.to(torch::kFloat)) > 0.5f;
  at::Tensor labels = torch::zeros(logits.sizes().slice(1), torch::kLong);
  for (int64_t c = 0; c < k; ++c) labels.masked_fill_(on.select(0, c), mapping.values[size_t(c)]);
  return labels;
}

at::Tensor probabilities_from_logits(const at::Tensor& logits, const OutputMapping& mapping) {
  return mapping.regions ? torch::sigmoid(logits) : torch::softmax(logits, 0);
}

}  // namespace voxseg::infer
