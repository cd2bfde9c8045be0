// HeapReuse keeps freed memory for the next allocation: a large block freed and allocated again
// inside the scope is already mapped (few page faults when it is touched again).
#include "voxseg/core/heap_reuse.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>

namespace {

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Allocates, touches and frees `bytes`; returns the minor page faults that took.
long faults_of_one_round(size_t bytes) {
  const long before = minor_faults();
  auto* p = static_cast<volatile char*>(std::malloc(bytes));
  if (p == nullptr) return -1;
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;  // volatile: every page is really touched
  std::free(const_cast<char*>(p));
  return minor_faults() - before;
}

TEST(HeapReuse, FreedBlocksAreReusedWithoutNewPageFaults) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "HeapReuse is a no-op without glibc";
#else
  // 64 MiB: 16384 pages of 4 KiB, or 32 transparent huge pages; either way >= 32 faults when fresh.
  const size_t bytes = size_t(64) << 20;
  // Without the scope glibc maps such a block afresh each time: its pages fault again.
  const long fresh = faults_of_one_round(bytes);
  EXPECT_GE(fresh, 32);
  EXPECT_GE(faults_of_one_round(bytes), 32);
  {
    voxseg::HeapReuse outer;
    voxseg::HeapReuse nested;    // nesting is allowed
    faults_of_one_round(bytes);  // first use maps the pages
    EXPECT_LE(faults_of_one_round(bytes), fresh / 8);
  }
  {
    voxseg::HeapReuse again;
    faults_of_one_round(bytes);
    EXPECT_LE(faults_of_one_round(bytes), fresh / 8);
  }
  // Back to glibc's defaults when the last scope ended: fresh mappings again.
  EXPECT_GE(faults_of_one_round(bytes), 32);
#endif
}

}  // namespace
