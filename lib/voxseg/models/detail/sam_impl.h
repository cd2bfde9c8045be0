#pragma once
// The modules of a SamModel, exposed to sam.cpp and to the unit tests (which compare each module
// with a PyTorch reference).
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "voxseg/models/detail/sam_image_encoder.h"
#include "voxseg/models/detail/sam_layers.h"
#include "voxseg/models/detail/sam_mask_decoder.h"
#include "voxseg/models/detail/sam_prompt_encoder.h"
#include "voxseg/models/sam.h"

namespace voxseg::models::detail {

struct SamImpl {
  /// Builds the modules with unbound parameters (bind them with load_weights).
  SamImpl(const SamConfig& config, const c10::Device& device, Precision precision);

  /// Checks `weights` (names without "module.") against the architecture and binds them. Throws
  /// Error(BadModel) "'<source>': ..." for a missing, unexpected or mis-shaped tensor.
  void load_weights(const std::vector<std::pair<std::string, at::Tensor>>& weights, const std::string& source);

  SamConfig config;
  c10::Device device;
  Precision precision;
  c10::ScalarType compute_dtype;  ///< of the image encoder: float32 or bfloat16
  std::string sha256;
  SamParams params;
  SamImageEncoder image_encoder;
  SamPromptEncoder prompt_encoder;
  SamMaskDecoder mask_decoder;
  at::Tensor dense_pe;  ///< prompt_encoder.dense_positional_encoding(), computed once at load
};

}  // namespace voxseg::models::detail
