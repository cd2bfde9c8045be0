#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include "voxseg/core/error.h"

namespace voxseg {

/// SHA-256 (FIPS 180-4) of a byte string, as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

/// SHA-256 of a file's bytes, streamed; throws Error(code) naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path, ExitCode code = ExitCode::BadInput);

}  // namespace voxseg
