#pragma once

namespace voxseg {

/// While alive, glibc's malloc keeps freed memory for reuse (process-wide): blocks up to 1 GiB come
/// from the heap instead of a fresh mmap each, whose pages the kernel would map and zero again on
/// first touch, and the heap top is not given back after every free. Networks allocate and free the
/// same large activations on every call (tiles, decoder calls, training steps); without this their
/// page faults took about a third of a warm-cache refine and half of training's system time. When
/// the last scope ends, free memory goes back to the system (malloc_trim) and glibc's defaults come
/// back. Nestable; a no-op without glibc. Not for concurrent use from several threads.
class HeapReuse {
 public:
  HeapReuse();
  ~HeapReuse();
  HeapReuse(const HeapReuse&) = delete;
  HeapReuse& operator=(const HeapReuse&) = delete;
};

}  // namespace voxseg
