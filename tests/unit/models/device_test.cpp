#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"
#include "voxseg/core/sha256.h"
#include "voxseg/models/device.h"

namespace voxseg::models {
namespace {

using test::capture_error;

TEST(ResolveDevice, CpuAndAutoWithoutGpuAreCpu) {
  EXPECT_TRUE(resolve_device("cpu").is_cpu());
  if (!cuda_available()) {
    EXPECT_TRUE(resolve_device("auto").is_cpu());
  }
}

TEST(ResolveDevice, CudaRequestWithoutCudaIsNoDeviceWithClearMessage) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present; this test covers CPU-only machines";
  for (const std::string text : {"cuda", "cuda:0", "cuda:3"}) {
    const Error e = capture_error([&] { resolve_device(text); });
    EXPECT_EQ(e.code(), ExitCode::NoDevice) << text;
    const std::string msg = e.what();
    const std::string expected = at::hasCUDA() ? "no CUDA device" : "this build of voxseg has no CUDA support";
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
}

TEST(ResolveDevice, MalformedTextIsUsage) {
  for (const std::string text : {"gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", "cuda:0:1"})
    EXPECT_EQ(capture_error([&] { resolve_device(text); }).code(), ExitCode::Usage) << text;
}

TEST(Precision, ParsesNamesAndRefusesOthers) {
  EXPECT_EQ(parse_precision("fp32"), Precision::FP32);
  EXPECT_EQ(parse_precision("bf16"), Precision::BF16);
  EXPECT_EQ(parse_precision("bfloat16"), Precision::BF16);
  EXPECT_EQ(parse_precision("fp16"), Precision::FP16);
  EXPECT_EQ(capture_error([] { parse_precision("int8"); }).code(), ExitCode::Usage);
  EXPECT_STREQ(precision_name(Precision::BF16), "bf16");
}

TEST(Precision, Fp16NeedsCudaBf16AndFp32RunOnCpu) {
  const c10::Device cpu(c10::kCPU);
  EXPECT_NO_THROW(check_precision(Precision::FP32, cpu));
  EXPECT_NO_THROW(check_precision(Precision::BF16, cpu));
  const Error e = capture_error([&] { check_precision(Precision::FP16, cpu); });
  EXPECT_EQ(e.code(), ExitCode::NoDevice);
  EXPECT_NE(std::string(e.what()).find("bf16 or fp32"), std::string::npos) << e.what();
}

// FIPS 180-2 test vectors.
TEST(Sha256, MatchesStandardVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileHashEqualsStringHashAndMissingFileIsNamed) {
  const auto dir = test::scratch_dir("sha");
  std::string text;
  for (int i = 0; i < 3000000; ++i) text += char('a' + i % 26);  // spans several 1 MiB reads
  std::ofstream(dir / "f.bin", std::ios::binary) << text;
  EXPECT_EQ(sha256_file(dir / "f.bin"), sha256_hex(text));
  const Error e = capture_error([&] { sha256_file(dir / "missing.bin", ExitCode::BadModel); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("missing.bin"), std::string::npos);
}

}  // namespace
}  // namespace voxseg::models
