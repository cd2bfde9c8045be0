#include "voxseg/core/heap_reuse.h"

#include <cstdlib>  // defines __GLIBC__ (core has no precompiled header that would bring it in)

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace voxseg {
namespace {
int depth = 0;  // nested scopes: only the outermost one changes the settings
}  // namespace

HeapReuse::HeapReuse() {
#if defined(__GLIBC__)
  // Setting either threshold also stops glibc's own adaptive threshold, so both are set.
  if (depth++ == 0) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
  }
#endif
}

HeapReuse::~HeapReuse() {
#if defined(__GLIBC__)
  if (--depth == 0) {
    // glibc's documented defaults (128 KiB each); the adaptive mmap threshold stays off.
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    malloc_trim(0);
  }
#endif
}

}  // namespace voxseg
