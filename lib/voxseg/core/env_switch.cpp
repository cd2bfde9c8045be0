#include "voxseg/core/env_switch.h"

#include <cstdlib>
#include <cstring>

namespace voxseg {

bool env_switch(const char* name, bool default_on) {
  const char* v = std::getenv(name);
  if (v != nullptr && std::strcmp(v, "0") == 0) return false;
  if (v != nullptr && std::strcmp(v, "1") == 0) return true;
  return default_on;
}

}  // namespace voxseg
