#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace voxseg {

/// Exit codes shared by every program (docs/exit-codes.md).
enum class ExitCode : int {
  Ok = 0,
  Internal = 1,
  Usage = 2,
  BadInput = 3,
  BadModel = 4,
  CannotWrite = 5,
  NoDevice = 6,
  Network = 7,
  PartialBatch = 8
};

/// The one exception type: an exit code plus a one-line message naming what and which file.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

/// usage: fail(ExitCode::BadInput, "cannot read '{}': {}", path, why);
template <typename... T>
[[noreturn]] void fail(ExitCode code, fmt::format_string<T...> f, T&&... args) {
  throw Error(code, fmt::format(f, std::forward<T>(args)...));
}

/// Short name of an exit code ("bad-input"), for reports.
const char* exit_code_name(ExitCode code);

}  // namespace voxseg
