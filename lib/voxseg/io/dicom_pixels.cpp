// Pixel data of one DICOM file through GDCM (any compressed transfer syntax GDCM decodes): checks
// that the data is complete and decodable, and applies the file's rescale slope/intercept.
#include <ATen/ATen.h>
#include <gdcmImageReader.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <type_traits>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/io/detail/dicom_guard.h"
#include "voxseg/io/detail/dicom_slice.h"

namespace fs = std::filesystem;

namespace voxseg::io::detail {
namespace {

template <typename Out>
void convert_pixels(const char* raw, const gdcm::PixelFormat& pf, const Slice& s, Out* out, size_t n) {
  auto run = [&](auto tag) {
    using S = decltype(tag);
    const S* src = reinterpret_cast<const S*>(raw);
    const int stored = s.bits_stored, allocated = static_cast<int>(8 * sizeof(S));
    const bool mask = std::is_integral<S>::value && stored > 0 && stored < allocated;
    for (size_t i = 0; i < n; ++i) {
      double v;
      if (mask) {  // high bits may hold overlays; sign-extend signed values from BitsStored
        const int64_t bits = static_cast<int64_t>(static_cast<uint64_t>(src[i]) & ((uint64_t(1) << stored) - 1));
        v = static_cast<double>(s.signed_pixels && (bits >> (stored - 1)) ? bits - (int64_t(1) << stored) : bits);
      } else {
        v = static_cast<double>(src[i]);
      }
      v = v * s.slope + s.intercept;
      if (std::is_integral<Out>::value) v = std::round(v);
      out[i] = static_cast<Out>(v);
    }
  };
  switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: run(uint8_t{}); break;
    case gdcm::PixelFormat::INT8: run(int8_t{}); break;
    case gdcm::PixelFormat::UINT16: run(uint16_t{}); break;
    case gdcm::PixelFormat::INT16: run(int16_t{}); break;
    case gdcm::PixelFormat::UINT32: run(uint32_t{}); break;
    case gdcm::PixelFormat::INT32: run(int32_t{}); break;
    case gdcm::PixelFormat::FLOAT32: run(float{}); break;
    case gdcm::PixelFormat::FLOAT64: run(double{}); break;
    default:
      fail(ExitCode::BadInput, "cannot read '{}': unsupported pixel format ({} bits allocated)", s.path.string(),
           pf.GetBitsAllocated());
  }
}

// Bytes missing from an uncompressed pixel data element whose declared length is `expected`
// (0 when complete, or when the element is not found in the expected form).
uint64_t missing_pixel_bytes(const fs::path& path, uint64_t expected) {
  std::ifstream in(path, std::ios::binary);
  const std::string d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t at, bool big) {
    const auto* b = reinterpret_cast<const unsigned char*>(d.data() + at);
    return big ? uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]
               : uint32_t(b[3]) << 24 | uint32_t(b[2]) << 16 | uint32_t(b[1]) << 8 | b[0];
  };
  for (const bool big : {false, true}) {
    const std::string tag = big ? std::string("\x7f\xe0\x00\x10", 4) : std::string("\xe0\x7f\x10\x00", 4);
    for (size_t at = d.find(tag); at != std::string::npos; at = d.find(tag, at + 1)) {
      if (at + 12 > d.size()) break;
      uint64_t start = 0;
      if ((d.compare(at + 4, 2, "OW") == 0 || d.compare(at + 4, 2, "OB") == 0) && u32(at + 8, big) == expected) {
        start = at + 12;  // explicit VR
      } else if (u32(at + 4, big) == expected) {
        start = at + 8;  // implicit VR
      }
      if (start) return start + expected > d.size() ? start + expected - d.size() : 0;
    }
  }
  return 0;
}

}  // namespace

// Header problems GDCM would abort on (Debian's GDCM keeps its asserts).
void check_decodable(const Slice& s) {
  const std::string file = s.path.string();
  if (s.bits_allocated % 8 != 0)
    fail(ExitCode::BadInput, "cannot read '{}': {}-bit pixel data (e.g. a binary DICOM SEG) is not read as a volume",
         file, s.bits_allocated);
  if (s.has_grid_offsets && !s.has_frames_tag)
    fail(ExitCode::BadInput, "cannot read '{}': GridFrameOffsetVector without NumberOfFrames (malformed RT Dose)",
         file);
}

void read_pixels(const Slice& s, at::Tensor out) {
  const std::string file = s.path.string();
  check_decodable(s);
  GdcmGuard guard(file);
  gdcm::ImageReader reader;
  reader.SetFileName(file.c_str());
  if (!reader.Read()) fail(ExitCode::BadInput, "cannot read '{}': not a readable DICOM image", file);
  const gdcm::Image& image = reader.GetImage();
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  const gdcm::Tag pixel_tag(0x7fe0, 0x0010);
  if (!ds.FindDataElement(pixel_tag)) fail(ExitCode::BadInput, "cannot read '{}': no pixel data", file);
  const gdcm::PixelFormat pf = image.GetPixelFormat();
  const size_t count = static_cast<size_t>(out.numel());
  const gdcm::ByteValue* bytes = ds.GetDataElement(pixel_tag).GetByteValue();
  if (bytes && (s.photometric.rfind("YBR_FULL_422", 0) == 0 || s.photometric.rfind("YBR_PARTIAL_422", 0) == 0))
    fail(ExitCode::BadInput, "cannot read '{}': uncompressed {} (chroma-subsampled colour) is not supported", file,
         s.photometric);
  if (bytes) {  // uncompressed: the file must hold every pixel (GDCM zero-fills a short file silently)
    const uint64_t expected = static_cast<uint64_t>(count) * pf.GetBitsAllocated() / 8;
    const uint64_t missing = missing_pixel_bytes(s.path, bytes->GetLength());
    if (missing > 0 || bytes->GetLength() < expected)
      fail(ExitCode::BadInput, "cannot read '{}': truncated pixel data (the file ends {} bytes early)", file,
           missing > 0 ? missing : expected - bytes->GetLength());
  }
  const size_t length = image.GetBufferLength();
  if (length < count * (pf.GetBitsAllocated() / 8))
    fail(ExitCode::BadInput, "cannot read '{}': pixel data size does not match Rows x Columns x frames", file);
  std::vector<char> raw(length);
  if (!image.GetBuffer(raw.data()))
    fail(ExitCode::BadInput, "cannot read '{}': cannot decode the pixel data (transfer syntax {})", file,
         gdcm::TransferSyntax::GetTSString(image.GetTransferSyntax()));
  switch (out.scalar_type()) {
    case at::kByte: convert_pixels(raw.data(), pf, s, out.data_ptr<uint8_t>(), count); break;
    case at::kShort: convert_pixels(raw.data(), pf, s, out.data_ptr<int16_t>(), count); break;
    case at::kInt: convert_pixels(raw.data(), pf, s, out.data_ptr<int32_t>(), count); break;
    default: convert_pixels(raw.data(), pf, s, out.data_ptr<float>(), count); break;
  }
}

}  // namespace voxseg::io::detail
