#pragma once
// Labels on the input grid straight from network-grid logits, without resampling every class of
// every voxel. Resampling back is linear or nearest per axis (nnU-Net's probabilities resampling):
// each output voxel's logits are a convex combination of its (up to 8) network-grid neighbours'. If
// the same class k wins at every neighbour (l_k >= l_c there for every c), it wins the combination
// too, since blending with non-negative weights and monotone rounding keeps the order. So only
// voxels whose neighbours disagree are interpolated, class by class, with the arithmetic of
// preprocess::resample_axis (y, then x, then z; double products, float results): labels equal the
// full resampling's except where two classes' logits are equal to float rounding.
// For 105 classes on a 512x512 grid the full resampling costs ~3 class-values of work per output
// voxel and class; boundaries are a few percent of the voxels.
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "voxseg/preprocess/resample.h"

namespace voxseg::infer {

class LabelResampler {
 public:
  /// Receives output slice z's label values [out[1], out[2]] (int64).
  using Emit = std::function<void(int64_t z, const at::Tensor& labels)>;
  /// `in`: network grid (z, y, x); `out`: output grid; `orders`: 0 or 1 per axis; `values`: label of
  /// channel k (argmax, first maximum on ties).
  LabelResampler(std::array<int64_t, 3> in, std::array<int64_t, 3> out, std::array<int, 3> orders,
                 std::vector<int64_t> values, Emit emit);

  /// Network slice z's logits [K, in[1], in[2]] float32, in increasing z; emits every output slice
  /// whose source slices have all arrived.
  void push(int64_t z, const at::Tensor& logits);
  int64_t emitted() const { return next_; }
  /// Output voxels that needed the class-by-class interpolation, and all voxels emitted.
  int64_t interpolated_voxels() const { return interpolated_; }
  int64_t emitted_voxels() const { return next_ * out_[1] * out_[2]; }

 private:
  struct Slice {
    at::Tensor channels_last;     // [Y, X, K] float32
    std::vector<int32_t> winner;  // argmax per network pixel
  };
  at::Tensor label_slice(const preprocess::LinearTap& tz);

  std::array<int64_t, 3> in_, out_;
  std::array<int, 3> orders_;
  std::vector<int64_t> values_;
  Emit emit_;
  std::vector<preprocess::LinearTap> taps_z_, taps_y_, taps_x_;
  std::map<int64_t, Slice> cache_;
  int64_t next_ = 0;
  int64_t interpolated_ = 0;
};

}  // namespace voxseg::infer
