#include "voxseg/models/device.h"

#include <ATen/Context.h>
#include <fmt/format.h>

#include <cctype>

#include "voxseg/core/error.h"

namespace voxseg::models {

Precision parse_precision(const std::string& text) {
  if (text == "fp32" || text == "float32") return Precision::FP32;
  if (text == "bf16" || text == "bfloat16") return Precision::BF16;
  if (text == "fp16" || text == "float16") return Precision::FP16;
  fail(ExitCode::Usage, "unknown precision '{}' (expected fp32, bf16 or fp16)", text);
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::FP32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::FP16: return "fp16";
  }
  return "fp32";
}

bool cuda_available() { return at::hasCUDA() && at::getNumGPUs() > 0; }

c10::Device resolve_device(const std::string& text) {
  if (text == "cpu") return c10::Device(c10::kCPU);
  if (text == "auto" || text.empty()) return cuda_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  int64_t index = 0;
  if (text == "cuda") {
    index = 0;
  } else if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() < 9) {
    for (size_t i = 5; i < text.size(); ++i)
      if (!std::isdigit(static_cast<unsigned char>(text[i])))
        fail(ExitCode::Usage, "invalid device '{}' (expected auto, cpu, cuda or cuda:N)", text);
    index = std::stoll(text.substr(5));
  } else {
    fail(ExitCode::Usage, "invalid device '{}' (expected auto, cpu, cuda or cuda:N)", text);
  }
  if (!at::hasCUDA())
    fail(ExitCode::NoDevice,
         "CUDA requested ('{}') but this build of voxseg has no CUDA support; use --device cpu or a build with "
         "-DVOXSEG_WITH_CUDA=ON",
         text);
  const int64_t count = at::getNumGPUs();
  if (index >= count)
    fail(ExitCode::NoDevice, "no CUDA device {} available ({} visible); use --device cpu or another device", index,
         count);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void check_precision(Precision precision, const c10::Device& device) {
  if (precision == Precision::FP16 && !device.is_cuda())
    fail(ExitCode::NoDevice,
         "fp16 precision needs a CUDA device but the network runs on '{}'; use --precision bf16 or fp32 on the CPU",
         device.str());
}

}  // namespace voxseg::models
