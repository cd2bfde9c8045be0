#include "voxseg/refine/heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace voxseg::refine {

void keep_freed_heap() {
#if defined(__GLIBC__)
  // Setting either threshold also stops glibc's own adaptive threshold, so both are set.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
#endif
}

void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace voxseg::refine
