#include "voxseg/models/detail/torchscript_optimize.h"

#include <torch/csrc/jit/api/module.h>

#include <exception>

#include "voxseg/core/log.h"

namespace voxseg::models::detail {
namespace {

// First line of a torch error (the full text is a multi-line traceback).
std::string first_line(const std::string& text) {
  const size_t start = text.find_first_not_of(" \t\n");
  if (start == std::string::npos) return "unknown error";
  return text.substr(start, text.find('\n', start) - start);
}

std::string what_of(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return first_line(c->what_without_backtrace());
  return first_line(e.what());
}

}  // namespace

OptimizedModule optimize_torchscript(const torch::jit::Module& module, const c10::Device& device, c10::ScalarType dtype,
                                     const std::string& name) {
  OptimizedModule out{module, "none", ""};
  torch::jit::Module frozen;
  try {
    frozen = torch::jit::freeze(module);
  } catch (const std::exception& e) {
    out.error = "freeze: " + what_of(e);
    log::debug("TorchScript model '{}': running the module as loaded ({})", name, out.error);
    return out;
  }
  out.module = frozen;
  out.passes = "freeze";
  if (!device.is_cpu() || dtype != c10::kFloat) {
    log::debug("TorchScript model '{}': frozen (optimize_for_inference is for float32 on the CPU only)", name);
    return out;
  }
  try {
    out.module = torch::jit::optimize_for_inference(frozen);
    out.passes = "freeze+optimize_for_inference";
  } catch (const std::exception& e) {
    // The passes rewrite the frozen graph in place, so a failure may leave it half done: freeze
    // the loaded module again (freezing clones it).
    out.error = "optimize_for_inference: " + what_of(e);
    try {
      out.module = torch::jit::freeze(module);
    } catch (const std::exception&) {
      out.module = module;
      out.passes = "none";
    }
    log::debug("TorchScript model '{}': {} only ({})", name, out.passes == "none" ? "as loaded" : "frozen", out.error);
  }
  return out;
}

}  // namespace voxseg::models::detail
