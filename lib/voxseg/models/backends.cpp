// Backends behind models::Network: the native U-Net and TorchScript modules, and the factory.
#include <torch/script.h>
#include <torch/torch.h>

#include <optional>

#include "voxseg/core/env_switch.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/detail/onednn_unet.h"
#include "voxseg/models/detail/shape_text.h"
#include "voxseg/models/detail/torchscript_optimize.h"
#include "voxseg/models/unet.h"

namespace voxseg::models {
namespace {

// One line from a torch error: the first line, or for TorchScript interpreter errors (a traceback
// of serialized code) the last line, which holds the actual error.
std::string one_line(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    const std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  if (lines.empty()) return "unknown error";
  return text.find("TorchScript interpreter") != std::string::npos ? lines.back() : lines.front();
}

std::string first_line(const c10::Error& e) { return one_line(e.what_without_backtrace()); }

using detail::shape_text;

void check_tiles(const at::Tensor& tiles, int dims, int64_t in_channels, const std::string& model) {
  if (!tiles.defined() || tiles.dim() != dims + 2 || tiles.size(1) != in_channels)
    fail(ExitCode::BadInput, "model '{}' expects tiles [B, {}, {}], got {}", model, in_channels,
         dims == 3 ? "Z, Y, X" : "Y, X", tiles.defined() ? shape_text(tiles.sizes()) : std::string("nothing"));
}

// The device exists in this build and runs `precision`; Error(NoDevice) otherwise.
void check_usable(const c10::Device& device, Precision precision) {
  check_precision(precision, device);
  if (device.is_cuda() && !cuda_available())
    fail(ExitCode::NoDevice, "CUDA device '{}' requested but {}", device.str(),
         at::hasCUDA() ? "no CUDA device is available" : "this build of voxseg has no CUDA support");
}

class UNetNetwork final : public Network {
 public:
  UNetNetwork(const UNetConfig& config, const StateDict& weights, const std::string& source, std::string name,
              const c10::Device& device, Precision precision)
      : net_(config), device_(device), precision_(precision), name_(std::move(name)) {
    load_state_dict(net_, weights, source);
    net_.train(false);
    try {
      net_.to(device_);
    } catch (const c10::Error& e) {
      fail(ExitCode::NoDevice, "cannot move model '{}' to {}: {}", name_, device_.str(), first_line(e));
    }
    start_engine();
  }
  int64_t in_channels() const override { return net_.config().in_channels; }
  int64_t num_classes() const override { return net_.config().num_classes; }
  int spatial_dims() const override { return net_.config().dims; }
  std::string device() const override { return device_.str(); }

  std::string forward_path() const override { return engine_ ? "onednn" : "aten"; }

  at::Tensor forward(const at::Tensor& tiles) override {
    check_tiles(tiles, spatial_dims(), in_channels(), name_);
    c10::InferenceMode no_grad;
    if (engine_) {
      net_.check_input(tiles);
      try {
        return engine_->forward(tiles);
      } catch (const std::exception& e) {  // e.g. bf16 on a CPU oneDNN has no kernel for: ATen from now on
        log::warn("model '{}': oneDNN engine failed on tiles {} ({}), using ATen: {}", name_, shape_text(tiles.sizes()),
                  precision_name(precision_), one_line(e.what()));
        engine_.reset();
      }
    }
    try {
      const at::Tensor x = tiles.to(device_, at::kFloat);
      PrecisionScope scope(precision_, device_);
      return net_.forward(x).to(at::kFloat);
    } catch (const c10::Error& e) {
      fail(ExitCode::Internal, "model '{}' failed on tiles {} ({}): {}", name_, shape_text(tiles.sizes()),
           precision_name(precision_), first_line(e));
    }
  }

 private:
  // The oneDNN engine (detail/onednn_unet.h) for float32/bf16 on the CPU unless VOXSEG_ONEDNN_ENGINE=0;
  // everything else (CUDA, fp16) runs the torch modules.
  void start_engine() {
    std::string why;
    if (!detail::onednn_engine_enabled()) why = "VOXSEG_ONEDNN_ENGINE=0";
    else if (!device_.is_cpu()) why = "device " + device_.str();
    else if (precision_ != Precision::FP32 && precision_ != Precision::BF16) why = precision_name(precision_);
    else why = detail::onednn_unet_unsupported(net_);
    if (why.empty()) engine_ = std::make_unique<detail::OnednnUNet>(net_, precision_ == Precision::BF16);
    log::debug("model '{}': forward on {}{}", name_, engine_ ? "the oneDNN engine" : "ATen",
               why.empty() ? std::string() : " (" + why + ")");
  }

  UNet net_;
  c10::Device device_;
  Precision precision_;
  std::string name_;
  std::unique_ptr<detail::OnednnUNet> engine_;
};

// VOXSEG_TORCHSCRIPT_OPTIMIZE=0 runs TorchScript modules as loaded (no freezing or graph passes).
bool torchscript_passes_enabled() { return env_switch("VOXSEG_TORCHSCRIPT_OPTIMIZE", true); }

// A module exported from Python with torch.jit.script/trace and torch.jit.save. In LibTorch 1.13
// TorchScript modules fail under autocast, so bf16/fp16 cast the module and its input instead; the
// cast module is then frozen (and, float32 on the CPU, optimized for inference), see
// detail/torchscript_optimize.h. Until the first forward succeeds the module as loaded is kept, so a
// graph the passes broke falls back to it instead of failing the run.
class TorchScriptNetwork final : public Network {
 public:
  TorchScriptNetwork(const ModelBundle& bundle, const c10::Device& device, Precision precision)
      : device_(device), precision_(precision), name_(bundle.id()), dims_(bundle.dims),
        in_channels_(bundle.in_channels()), num_classes_(bundle.num_classes()) {
    const auto path = bundle.weights_path();
    try {
      module_ = torch::jit::load(path.string(), device_);
    } catch (const c10::Error& e) {
      fail(ExitCode::BadModel, "cannot load TorchScript model '{}': {}", path.string(), first_line(e));
    }
    module_.eval();
    if (precision_ != Precision::FP32) {
      compute_dtype_ = precision_ == Precision::BF16 ? at::kBFloat16 : at::kHalf;
      module_.to(compute_dtype_);
    }
    if (torchscript_passes_enabled()) {
      detail::OptimizedModule optimized = detail::optimize_torchscript(module_, device_, compute_dtype_, name_);
      log::debug("TorchScript model '{}': graph passes: {}", name_, optimized.passes);
      if (optimized.passes != "none") {
        fallback_ = module_;
        module_ = optimized.module;
      }
    }
  }
  int64_t in_channels() const override { return in_channels_; }
  int64_t num_classes() const override { return num_classes_; }
  int spatial_dims() const override { return dims_; }
  std::string device() const override { return device_.str(); }

  at::Tensor forward(const at::Tensor& tiles) override {
    check_tiles(tiles, dims_, in_channels_, name_);
    c10::InferenceMode no_grad;
    const int64_t n = tiles.size(0);
    if (tile_by_tile_ && n > 1) return forward_tile_by_tile(tiles, at::Tensor());
    Outcome r = attempt(tiles);
    if (r.error.empty()) {
      fallback_.reset();  // the optimized module works: free the copy
      return r.logits;
    }
    // A traced module may have the batch size of its example baked in (a view to [1, ...]): when a
    // batch fails and one tile works, run tiles one by one from now on (the engine batches mirrored
    // copies on its own, so this must not be an error).
    if (n > 1) {
      Outcome one = attempt(tiles.narrow(0, 0, 1));
      if (one.error.empty()) {
        log::debug("TorchScript model '{}' fails on a batch of {} tiles ({}); running one tile per call", name_, n,
                   r.error);
        tile_by_tile_ = true;
        fallback_.reset();
        return forward_tile_by_tile(tiles, one.logits);
      }
    }
    if (!r.executed && fallback_) {
      log::debug("TorchScript model '{}': the optimized module failed ({}); running the module as loaded", name_,
                 r.error);
      module_ = *fallback_;
      fallback_.reset();
      return forward(tiles);
    }
    fallback_.reset();
    fail_with(r, tiles);
  }

 private:
  struct Outcome {
    at::Tensor logits;
    std::string error;      // empty: success
    bool executed = false;  // the module ran (the error is about its output)
  };

  // Runs the module on `tiles` and checks its output: logits [B, K, spatial] float32 on success.
  Outcome attempt(const at::Tensor& tiles) {
    Outcome r;
    c10::IValue out;
    try {
      out = module_.forward({tiles.to(device_, compute_dtype_)});
    } catch (const c10::Error& e) {
      r.error = first_line(e);
      return r;
    } catch (const std::exception& e) {  // torch::jit::JITException and friends
      r.error = one_line(e.what());
      return r;
    }
    r.executed = true;
    // Deep-supervision exports return a list/tuple: the first entry is full resolution.
    if (out.isTuple() && !out.toTupleRef().elements().empty()) out = out.toTupleRef().elements()[0];
    if (out.isList() && !out.toListRef().empty()) out = out.toListRef()[0];
    if (!out.isTensor()) {
      r.error = fmt::format("TorchScript model '{}' did not return a tensor", name_);
      return r;
    }
    at::Tensor logits = out.toTensor();
    if (logits.dim() != dims_ + 2 || logits.size(0) != tiles.size(0) || logits.size(1) != num_classes_) {
      r.error = fmt::format("TorchScript model '{}' returned shape {} for tiles {}; model.json lists {} labels", name_,
                            shape_text(logits.sizes()), shape_text(tiles.sizes()), num_classes_);
      return r;
    }
    for (int a = 0; a < dims_; ++a)
      if (logits.size(a + 2) != tiles.size(a + 2)) {
        r.error = fmt::format("TorchScript model '{}' returned spatial shape {} for tiles {}", name_,
                              shape_text(logits.sizes()), shape_text(tiles.sizes()));
        return r;
      }
    r.logits = logits.to(at::kFloat);
    return r;
  }

  [[noreturn]] void fail_with(const Outcome& r, const at::Tensor& tiles) const {
    if (r.executed) fail(ExitCode::BadModel, "{}", r.error);
    if (precision_ != Precision::FP32)
      fail(ExitCode::Usage,
           "TorchScript model '{}' cannot run in {} on {} ({}); rerun with --precision fp32 (LibTorch 1.13 "
           "runs TorchScript without autocast, so the whole module is cast)",
           name_, precision_name(precision_), device_.str(), r.error);
    fail(ExitCode::BadModel, "TorchScript model '{}' failed on tiles {}: {}", name_, shape_text(tiles.sizes()), r.error);
  }

  // One call per tile; `first` is tile 0's logits when already computed.
  at::Tensor forward_tile_by_tile(const at::Tensor& tiles, at::Tensor first) {
    std::vector<at::Tensor> parts;
    for (int64_t i = 0; i < tiles.size(0); ++i) {
      if (i == 0 && first.defined()) {
        parts.push_back(std::move(first));
        continue;
      }
      const at::Tensor tile = tiles.narrow(0, i, 1);
      Outcome r = attempt(tile);
      if (!r.error.empty()) fail_with(r, tile);
      parts.push_back(std::move(r.logits));
    }
    return at::cat(parts, 0);
  }

  torch::jit::Module module_;
  std::optional<torch::jit::Module> fallback_;  // the module as loaded, until a forward succeeds
  c10::Device device_;
  Precision precision_;
  c10::ScalarType compute_dtype_ = at::kFloat;
  std::string name_;
  int dims_;
  int64_t in_channels_, num_classes_;
  bool tile_by_tile_ = false;  // the module takes one tile per call (see forward)
};

}  // namespace

std::vector<std::string> available_backends() { return {"unet", "torchscript"}; }

std::unique_ptr<Network> make_unet_network(const UNetConfig& config, const StateDict& weights,
                                           const std::string& source, const std::string& name,
                                           const c10::Device& device, Precision precision) {
  check_usable(device, precision);
  return std::make_unique<UNetNetwork>(config, weights, source, name, device, precision);
}

std::unique_ptr<Network> make_network(const ModelBundle& bundle) {
  return make_network(bundle, bundle.device, bundle.precision);
}

std::unique_ptr<Network> make_network(const ModelBundle& bundle, const c10::Device& device, Precision precision) {
  check_usable(device, precision);
  const std::string& type = bundle.architecture.type;
  log::debug("model {}: {} backend on {} ({})", bundle.id(), type, device.str(), precision_name(precision));
  if (type == "unet") {
    const auto path = bundle.weights_path();
    return std::make_unique<UNetNetwork>(bundle.architecture.unet, read_weights(path), path.string(), bundle.id(),
                                         device, precision);
  }
  if (type == "torchscript") return std::make_unique<TorchScriptNetwork>(bundle, device, precision);
  std::string built;
  for (const auto& b : available_backends()) built += (built.empty() ? "" : ", ") + b;
  fail(ExitCode::BadModel, "model '{}': backend '{}' is not built into this voxseg (available: {})", bundle.id(), type,
       built);
}

}  // namespace voxseg::models
