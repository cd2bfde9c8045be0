#pragma once
// Helpers shared by the models tests: scratch folders in the build tree and PyTorch reference
// fixtures written by make_unet_fixture.py.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../shared_test_support.h"
#include "voxseg/core/error.h"
#include "voxseg/core/json.h"
#include "voxseg/models/unet.h"
#include "voxseg/models/unet_config.h"

namespace voxseg::models::test {

namespace fs = std::filesystem;

using test_support::capture_error;
using test_support::python_torch_available;

/// A fresh folder for one test (removed first if a previous run left it).
inline fs::path scratch_dir(const std::string& name) { return test_support::fresh_dir(VOXSEG_MODELS_TEST_TMP, name); }

/// What PyTorch computed for a PlainConvUNet with random weights.
struct Reference {
  fs::path dir;
  StateDict weights;               ///< every key of PyTorch's state_dict, aliases included
  std::vector<std::string> keys;   ///< "name [shape]" in PyTorch's order
  std::map<std::string, at::Tensor> io;  ///< input, output, ds0, ds1, ...
};

inline std::string shape_text(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

inline Reference make_reference(const UNetConfig& config, const fs::path& dir, int seed,
                                const std::vector<int64_t>& input_shape, bool torchscript = false) {
  std::ofstream(dir / "config.json") << unet_config_to_json(config).dump(2);
  std::string shape;
  for (size_t i = 0; i < input_shape.size(); ++i) shape += (i ? "," : "") + std::to_string(input_shape[i]);
  const std::string cmd = "/usr/bin/python3 '" + std::string(VOXSEG_MODELS_FIXTURE_SCRIPT) + "' '" +
                          (dir / "config.json").string() + "' '" + dir.string() + "' " + std::to_string(seed) + " " +
                          shape + (torchscript ? " --torchscript" : "");
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("fixture script failed: " + cmd);
  Reference r;
  r.dir = dir;
  r.weights = read_weights(dir / "weights.pth");
  for (const auto& [name, tensor] : read_weights(dir / "io.pth")) r.io[name] = tensor;
  std::ifstream keys(dir / "keys.txt");
  for (std::string line; std::getline(keys, line);) r.keys.push_back(line);
  return r;
}

inline void write_json(const fs::path& path, const Json& json) { std::ofstream(path) << json.dump(2); }

/// model.json of a 3D TorchScript bundle (one "MR" channel, `labels` labels, file model.pt).
inline Json torchscript_json(int64_t labels) {
  Json j = Json::object();
  j["schema_version"] = 1;
  j["name"] = "traced";
  j["dims"] = 3;
  Json arch = Json::object();
  arch["type"] = "torchscript";
  arch["file"] = "model.pt";
  j["architecture"] = arch;
  Json channel = Json::object();
  channel["name"] = "MR";
  Json norm = Json::object();
  norm["scheme"] = "zscore";
  channel["normalization"] = norm;
  j["channels"] = Json(Json::Array{channel});
  Json list = Json::array();
  for (int64_t i = 0; i < labels; ++i) {
    Json l = Json::object();
    l["id"] = i;
    l["name"] = "label" + std::to_string(i);
    list.push_back(l);
  }
  j["labels"] = list;
  j["patch_size"] = Json(Json::Array{4, 16, 24});
  return j;
}

/// Largest absolute difference (inf when shapes differ).
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) return std::numeric_limits<double>::infinity();
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

/// A 3D anisotropic config (first downsampling in-plane only, like nnU-Net's CT plans).
inline UNetConfig anisotropic_3d_config() {
  UNetConfig c;
  c.dims = 3;
  c.in_channels = 1;
  c.num_classes = 3;
  c.features_per_stage = {4, 8, 16};
  c.kernel_sizes = {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}};
  c.strides = {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}};
  c.n_conv_per_stage = {2, 2, 2};
  c.n_conv_per_stage_decoder = {1, 2};
  c.norm = "instance";
  return c;
}

/// A 2D config with batch norm and no conv bias (exercises buffers and absent bias entries).
inline UNetConfig batchnorm_2d_config() {
  UNetConfig c;
  c.dims = 2;
  c.in_channels = 2;
  c.num_classes = 2;
  c.features_per_stage = {4, 8, 8, 16};
  c.kernel_sizes = {{3, 3}, {3, 3}, {3, 3}, {3, 3}};
  c.strides = {{1, 1}, {2, 2}, {2, 1}, {2, 2}};
  c.n_conv_per_stage = {1, 2, 2, 2};
  c.n_conv_per_stage_decoder = {2, 2, 1};
  c.conv_bias = false;
  c.norm = "batch";
  c.norm_eps = 1e-3;
  return c;
}

/// A 3D anisotropic ResidualEncoderUNet (nnU-Net ResEnc structure, scaled down): stem to 4 channels,
/// stage 0 without skip module, strided stages with pool + projection (channels change) and pool only
/// (stage 3: 16 -> 16, stride [1, 2, 2]).
inline UNetConfig residual_3d_config() {
  UNetConfig c;
  c.dims = 3;
  c.encoder = "residual";
  c.in_channels = 1;
  c.num_classes = 3;
  c.features_per_stage = {4, 8, 16, 16};
  c.kernel_sizes = {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}};
  c.strides = {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}, {1, 2, 2}};
  c.n_blocks_per_stage = {1, 3, 2, 2};
  c.n_conv_per_stage_decoder = {1, 1, 1};
  c.norm = "instance";
  return c;
}

/// A 2D ResidualEncoderUNet with batch norm, no conv bias and a stem narrower than stage 0
/// (stage 0's first block projects without pooling: "skip.0" is the 1x1 conv).
inline UNetConfig residual_2d_config() {
  UNetConfig c;
  c.dims = 2;
  c.encoder = "residual";
  c.in_channels = 2;
  c.num_classes = 2;
  c.features_per_stage = {4, 8, 8, 16};
  c.kernel_sizes = {{3, 3}, {3, 3}, {3, 3}, {3, 3}};
  c.strides = {{1, 1}, {2, 2}, {2, 1}, {2, 2}};
  c.n_blocks_per_stage = {1, 2, 2, 1};
  c.stem_channels = 3;
  c.n_conv_per_stage_decoder = {2, 1, 1};
  c.conv_bias = false;
  c.norm = "batch";
  c.norm_eps = 1e-3;
  return c;
}

}  // namespace voxseg::models::test
