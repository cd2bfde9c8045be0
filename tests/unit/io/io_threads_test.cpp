// --threads N also bounds ITK's pool (what IO's filters run on).
#include "voxseg/io/threads.h"

#include <gtest/gtest.h>

#include "voxseg/core/threads.h"

TEST(IoThreads, SetsItkDefaultThreads) {
  for (int n : {1, 2, 1}) {
    voxseg::io::set_io_threads(n);
    EXPECT_EQ(voxseg::io::io_threads(), n);
  }
  voxseg::io::set_io_threads(0);
  EXPECT_EQ(voxseg::io::io_threads(), voxseg::available_cores());
}
