#include "voxseg/core/error.h"

namespace voxseg {

const char* exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::Ok: return "ok";
    case ExitCode::Internal: return "internal";
    case ExitCode::Usage: return "usage";
    case ExitCode::BadInput: return "bad-input";
    case ExitCode::BadModel: return "bad-model";
    case ExitCode::CannotWrite: return "cannot-write";
    case ExitCode::NoDevice: return "no-device";
    case ExitCode::Network: return "network";
    case ExitCode::PartialBatch: return "partial-batch";
  }
  return "unknown";
}

}  // namespace voxseg
