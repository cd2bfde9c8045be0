#pragma once
#include <cctype>
#include <string>

#include "voxseg/core/sha256.h"

namespace voxseg::io::detail {

/// "2.25.<decimal of the first 128 bits of sha256(text)>": a UID in the ISO/IEC 9834-8 UUID arc
/// derived from a hash, so the same text always gives the same UID (reproducible DICOM files).
inline std::string hashed_uid(const std::string& text) {
  const std::string hex = sha256_hex(text).substr(0, 32);
  unsigned __int128 v = 0;
  for (char c : hex) v = v * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : c - 'a' + 10);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v > 0);
  return "2.25." + digits;
}

}  // namespace voxseg::io::detail
