#pragma once
// Private to models/nnunet_*.cpp: what parsing the nnU-Net files (nnunet_plans.cpp) and converting a
// configuration to a UNetConfig (nnunet_unet_config.cpp) share.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "voxseg/core/error.h"

namespace voxseg::models::detail {

/// Runs a parser of nnU-Net file `path` that throws std::invalid_argument (the strict field readers)
/// and turns that into Error(BadModel) for `what` ("plans", "dataset.json", "architecture").
template <typename F>
auto as_bad_model(const std::string& what, const std::string& path, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadModel, "invalid nnU-Net {} '{}': {}", what, path, e.what());
  }
}

/// "torch.nn.modules.conv.Conv3d" -> "Conv3d" (nnU-Net names classes by their Python path).
inline std::string short_name(const std::string& dotted) {
  const size_t dot = dotted.rfind('.');
  return dot == std::string::npos ? dotted : dotted.substr(dot + 1);
}

}  // namespace voxseg::models::detail
