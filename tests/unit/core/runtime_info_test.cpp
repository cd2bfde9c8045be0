#include "voxseg/core/runtime_info.h"

#include <gtest/gtest.h>

#include <string>

namespace {

TEST(BlasFlavour, NamesDebianAlternativesByTheirFolder) {
  const std::string lib = "/usr/lib/x86_64-linux-gnu/";
  EXPECT_EQ(voxseg::blas_flavour(lib + "openblas-pthread/libblas.so.3"), "openblas-pthread");
  EXPECT_EQ(voxseg::blas_flavour(lib + "openblas-openmp/libblas.so.3"), "openblas-openmp");
  EXPECT_EQ(voxseg::blas_flavour(lib + "blis-pthread/libblas.so.3"), "blis-pthread");
  EXPECT_EQ(voxseg::blas_flavour(lib + "blas/libblas.so.3.11.0"), "reference");
  EXPECT_EQ(voxseg::blas_flavour(lib + "libmkl_rt.so.2"), "mkl");
  EXPECT_EQ(voxseg::blas_flavour("/opt/x/libsomething.so"), "unknown");
}

TEST(OnednnIsaName, MapsOnednn2Values) {
  EXPECT_EQ(voxseg::onednn_isa_name(0x7), "avx2");
  EXPECT_EQ(voxseg::onednn_isa_name(0x27), "avx512_core");
  EXPECT_EQ(voxseg::onednn_isa_name(0xe7), "avx512_core_bf16");
  EXPECT_EQ(voxseg::onednn_isa_name(0x12345), "0x12345");
}

// This binary links LibTorch, so libblas.so.3 and libdnnl are loaded and must be found.
TEST(RuntimeInfo, FindsTheLoadedBlasAndOnednn) {
  const voxseg::RuntimeInfo info = voxseg::runtime_info();
  EXPECT_FALSE(info.blas_path.empty()) << "sgemm_ not found in the process";
  EXPECT_EQ(info.blas_path.front(), '/');
  EXPECT_NE(info.blas, "unknown") << info.blas_path;
  EXPECT_FALSE(info.onednn.empty());
  EXPECT_FALSE(info.onednn_isa.empty());
  EXPECT_GE(info.threads, 1);
  const voxseg::Json j = voxseg::runtime_json(info);
  EXPECT_NE(j.find("blas")->as_string().find(info.blas_path), std::string::npos);
  EXPECT_EQ(j.find("onednn_isa")->as_string(), info.onednn_isa);
  EXPECT_NE(voxseg::describe_runtime(info).find("BLAS: " + info.blas), std::string::npos);
}

}  // namespace
