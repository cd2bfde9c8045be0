// --threads N sets every compute pool of the process to N: OpenMP (ATen, oneDNN) and the BLAS's
// own pool (OpenBLAS pthread sizes itself to every core otherwise).
#include "voxseg/core/threads.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

TEST(ComputeThreads, OneAndTwoThreadsSetOpenMpAndTheBlasPool) {
  if (voxseg::blas_threads() == 0) GTEST_SKIP() << "neither OpenBLAS nor BLIS is loaded (reference BLAS has no pool)";
  for (int n : {1, 2, 1}) {
    voxseg::set_compute_threads(n);
    EXPECT_EQ(at::get_num_threads(), n);
    EXPECT_EQ(voxseg::blas_threads(), n);
  }
}

TEST(ComputeThreads, ZeroMeansTheAvailableCores) {
  voxseg::set_compute_threads(0);
  EXPECT_EQ(at::get_num_threads(), voxseg::available_cores());
  if (voxseg::blas_threads() > 0) {
    EXPECT_EQ(voxseg::blas_threads(), voxseg::available_cores());
  }
}
