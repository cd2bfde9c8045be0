#pragma once
#include <cstddef>
#include <functional>
#include <string_view>

#include "voxseg/checkpoint/value.h"

namespace voxseg::checkpoint::detail {

/// Caps that keep a hostile pickle from exhausting memory or the C++ stack.
struct UnpicklerLimits {
  size_t max_values = 5'000'000;  ///< objects created (each opcode makes at most one)
  size_t max_depth = 500;         ///< nesting of containers (also bounds recursive destruction)
  size_t max_dims = 64;           ///< tensor / ndarray rank
};

/// Resolves a BINPERSID id (torch: ('storage', <type>, key, location, numel)) to a Storage value.
using PersistentLoad = std::function<ValuePtr(const Value& pid)>;

/// Runs the pickle program `data` (protocols 0-5 as far as torch.save and numpy use them) and
/// returns the object it builds. Torch tensor rebuilders, numpy scalars/arrays, OrderedDict,
/// _codecs.encode are interpreted; other classes become opaque Object values. Throws
/// Error(BadModel) "<problem> at byte N" on any malformed, truncated, cyclic or oversized input.
ValuePtr unpickle(std::string_view data, const PersistentLoad& persistent_load,
                  const UnpicklerLimits& limits = {});

}  // namespace voxseg::checkpoint::detail
