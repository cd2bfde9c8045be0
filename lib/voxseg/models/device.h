#pragma once
#include <c10/core/Device.h>

#include <string>

namespace voxseg::models {

/// Arithmetic used for a network's forward pass. Logits returned to callers are always float32.
enum class Precision { FP32, BF16, FP16 };

/// "fp32" | "bf16" | "fp16" (also "float32", "bfloat16", "float16"); throws Error(Usage) otherwise.
Precision parse_precision(const std::string& text);
const char* precision_name(Precision precision);

/// Resolves "auto" (CUDA device 0 when one is usable, else the CPU), "cpu", "cuda" or "cuda:N".
/// Throws Error(Usage) for other text and Error(NoDevice) when CUDA is asked for but this build has
/// no CUDA support or there is no device N.
c10::Device resolve_device(const std::string& text);

/// Whether `precision` can run on `device`; throws Error(NoDevice) for fp16 on the CPU (no fast
/// half-precision kernels there; bf16 is the CPU's reduced precision).
void check_precision(Precision precision, const c10::Device& device);

/// True when this build of LibTorch has CUDA and at least one device is visible.
bool cuda_available();

}  // namespace voxseg::models
