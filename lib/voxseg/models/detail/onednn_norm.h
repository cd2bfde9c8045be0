#pragma once
// The oneDNN engine's own elementwise pass over channels-last activations ([N][voxels][channels],
// dense): instance norm (statistics per sample and channel, computed in
// float32/double whatever the storage), affine, an optional residual add and LeakyReLU, in one
// read and one write of the data. Private to models (onednn_unet.cpp).
#include <cstdint>

namespace voxseg::models::detail {

struct ChannelsLast {
  void* data = nullptr;
  bool bf16 = false;  // element type: bfloat16, else float32
  int64_t batch = 0, voxels = 0, channels = 0;
};

struct NormAct {
  bool instance = false;  // normalise by the sample's per-channel mean and variance
  double eps = 1e-5;
  const float* gamma = nullptr;            // per channel, or null (1)
  const float* beta = nullptr;             // per channel, or null (0)
  const ChannelsLast* residual = nullptr;  // same shape, added after the norm (before the activation)
  bool leaky = false;
  float slope = 0.01f;
};

/// x = act(norm(x) * gamma + beta + residual), in place.
void norm_act_inplace(const ChannelsLast& x, const NormAct& op);

}  // namespace voxseg::models::detail
