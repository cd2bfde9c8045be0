#pragma once
// Inference graph passes for TorchScript bundles (LibTorch 1.13): torch::jit::freeze inlines the
// parameters and attributes as constants and folds conv + batch norm; on the CPU in float32,
// torch::jit::optimize_for_inference then fuses conv + add/relu and moves convolutions onto oneDNN
// tensors with prepacked weights. Private to models (backends.cpp and its tests).
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/script.h>

#include <string>

namespace voxseg::models::detail {

/// What optimize_torchscript did.
struct OptimizedModule {
  torch::jit::Module module;  ///< the optimized module, or the input module when a pass threw
  std::string passes;         ///< "freeze+optimize_for_inference", "freeze+float_transposed_convs", "freeze", "none"
  std::string error;          ///< why a pass was skipped (empty when every pass applied)
};

/// LibTorch 1.13's CPU bf16 transposed convolution throws (oneDNN is handed the weight in the
/// forward convolution's layout), so in a frozen bf16 graph each transposed convolution gets its
/// input, weight and bias cast to float32 and its output cast back to `dtype` (the weight casts are
/// folded into constants). Returns how many it rewrote.
int run_transposed_convs_in_float(torch::jit::Module& module, c10::ScalarType dtype);

/// Freezes `module` (which must be in eval mode, already on `device` and cast to `dtype`) and, for
/// float32 on the CPU, applies optimize_for_inference. CUDA and bf16/fp16 get freezing only (the
/// oneDNN conversion is float32-CPU only in 1.13); bf16 on the CPU also gets
/// run_transposed_convs_in_float ("freeze+float_transposed_convs" when the graph had any). A pass that throws is
/// skipped with one debug log line naming `name`; never throws for a pass failure.
OptimizedModule optimize_torchscript(const torch::jit::Module& module, const c10::Device& device, c10::ScalarType dtype,
                                     const std::string& name);

}  // namespace voxseg::models::detail
