#pragma once

namespace voxseg::refine {

/// Makes glibc's malloc keep freed memory for reuse, process-wide: blocks up to 1 GiB come from the
/// heap instead of a fresh mmap each (whose pages the kernel maps and zeroes again on first touch)
/// and the heap top is not given back after every free. The decoder allocates and frees the same
/// multi-megabyte temporaries on every call; without this, page faults of those took about a third
/// of a warm-cache refine. Idempotent; a no-op without glibc. Pair with release_free_heap().
void keep_freed_heap();

/// Gives the heap's free memory back to the system (malloc_trim), e.g. when a refine is done.
void release_free_heap();

}  // namespace voxseg::refine
