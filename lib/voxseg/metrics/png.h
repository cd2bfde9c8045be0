#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace voxseg::metrics {

/// An 8-bit RGB PNG file's bytes (zlib deflate, CRC-32 per chunk, no filter).
/// rgb holds width * height * 3 bytes, rows top to bottom.
std::string encode_png_rgb(const std::vector<uint8_t>& rgb, int width, int height);

/// Standard base64 (RFC 4648, with padding), for data: URIs.
std::string base64_encode(const std::string& bytes);

}  // namespace voxseg::metrics
