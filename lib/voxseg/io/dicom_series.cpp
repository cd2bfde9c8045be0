// DICOM reading through GDCM (the library behind ITK's GDCMImageIO): single files and series folders.
// Series are found with gdcm::Scanner (headers only), sorted along the slice normal and checked
// for consistent orientation, size and spacing before any pixel data is read.
#include "voxseg/io/dicom_series.h"

#include <ATen/ATen.h>
#include <gdcmImageReader.h>
#include <gdcmReader.h>
#include <gdcmScanner.h>
#include <gdcmTag.h>
#include <gdcmTrace.h>
#include <itkGDCMImageIO.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/detail/dicom_slice.h"
#include "voxseg/io/detail/io_common.h"

namespace fs = std::filesystem;

namespace voxseg::io {
namespace detail {

void quiet_toolkits_gdcm() {
  gdcm::Trace::WarningOff();
  gdcm::Trace::ErrorOff();
  gdcm::Trace::DebugOff();
}

namespace {

// While GDCM (and the codecs under it: libjpeg, OpenJPEG, CharLS) works on a file: their messages,
// printed straight to stderr, go to /dev/null (unless -vv), and an assertion failure inside
// Debian's GDCM (which keeps asserts on) becomes one error line and exit 3 instead of an abort
// with a core dump. Not thread-safe: DICOM reading is single-threaded.
class GdcmGuard {
 public:
  explicit GdcmGuard(const std::string& file) {
    std::snprintf(g_message, sizeof g_message,
                  "%s: error: cannot read '%s': the DICOM decoder aborted on this file (malformed or unsupported)\n",
                  log::program().c_str(), file.c_str());
    std::fflush(stderr);
    if (!log::enabled(log::Level::Debug)) {
      g_saved_stderr = ::dup(STDERR_FILENO);
      const int null = ::open("/dev/null", O_WRONLY);
      if (g_saved_stderr >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
      if (null >= 0) ::close(null);
    }
    struct sigaction sa {};
    sa.sa_handler = on_abort;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, &previous_);
  }
  ~GdcmGuard() {
    std::fflush(stderr);
    if (g_saved_stderr >= 0) {
      ::dup2(g_saved_stderr, STDERR_FILENO);
      ::close(g_saved_stderr);
      g_saved_stderr = -1;
    }
    sigaction(SIGABRT, &previous_, nullptr);
  }
  GdcmGuard(const GdcmGuard&) = delete;
  GdcmGuard& operator=(const GdcmGuard&) = delete;

 private:
  static void on_abort(int) {
    if (g_saved_stderr >= 0) ::dup2(g_saved_stderr, STDERR_FILENO);
    const ssize_t ignored = ::write(STDERR_FILENO, g_message, std::strlen(g_message));
    (void)ignored;
    ::_exit(static_cast<int>(ExitCode::BadInput));
  }
  static inline char g_message[4600] = {};
  static inline int g_saved_stderr = -1;
  struct sigaction previous_ {};
};

const gdcm::Tag kSopClass(0x0008, 0x0016), kModality(0x0008, 0x0060), kSeriesDescription(0x0008, 0x103e),
    kPatientId(0x0010, 0x0020), kSliceThickness(0x0018, 0x0050), kStudyUid(0x0020, 0x000d),
    kSeriesUid(0x0020, 0x000e), kInstanceNumber(0x0020, 0x0013), kPosition(0x0020, 0x0032),
    kOrientation(0x0020, 0x0037), kFrameOfReference(0x0020, 0x0052), kFrames(0x0028, 0x0008),
    kRows(0x0028, 0x0010), kColumns(0x0028, 0x0011), kPixelSpacing(0x0028, 0x0030),
    kBitsAllocated(0x0028, 0x0100), kBitsStored(0x0028, 0x0101), kPixelRepresentation(0x0028, 0x0103),
    kSamples(0x0028, 0x0002), kIntercept(0x0028, 0x1052), kSlope(0x0028, 0x1053),
    kPhotometric(0x0028, 0x0004), kGridFrameOffsets(0x3004, 0x000c), kImageType(0x0008, 0x0008),
    kSeriesNumber(0x0020, 0x0011), kAcquisitionNumber(0x0020, 0x0012);

std::string trim(std::string s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '\0')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::vector<double> parse_numbers(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, '\\')) {
    item = trim(item);
    if (item.empty()) continue;
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (end == item.c_str()) return {};
    out.push_back(v);
  }
  return out;
}

std::vector<Slice> scan(const std::vector<fs::path>& files) {
  quiet_toolkits();
  gdcm::Scanner scanner;
  for (const gdcm::Tag& t : {kSopClass, kModality, kSeriesDescription, kPatientId, kSliceThickness, kStudyUid,
                             kSeriesUid, kInstanceNumber, kPosition, kOrientation, kFrameOfReference, kFrames, kRows,
                             kColumns, kPixelSpacing, kBitsAllocated, kBitsStored, kPixelRepresentation, kSamples,
                             kIntercept, kSlope, kPhotometric, kGridFrameOffsets, kImageType, kSeriesNumber,
                             kAcquisitionNumber})
    scanner.AddTag(t);
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.string());
  {
    GdcmGuard guard(files.size() == 1 ? names.front() : names.empty() ? "" : fs::path(names.front()).parent_path().string());
    scanner.Scan(names);
  }
  std::vector<Slice> slices;
  for (const auto& name : names) {
    if (!scanner.IsKey(name.c_str())) continue;  // not DICOM
    auto get = [&](const gdcm::Tag& t) {
      const char* v = scanner.GetValue(name.c_str(), t);
      return v ? trim(v) : std::string();
    };
    auto get_int = [&](const gdcm::Tag& t, int fallback) {
      const std::string v = get(t);
      return v.empty() ? fallback : std::atoi(v.c_str());
    };
    auto get_double = [&](const gdcm::Tag& t, double fallback) {
      const auto v = parse_numbers(get(t));
      return v.empty() ? fallback : v[0];
    };
    Slice s;
    s.path = name;
    s.series_uid = get(kSeriesUid);
    s.rows = get_int(kRows, 0);
    s.columns = get_int(kColumns, 0);
    if (s.rows <= 0 || s.columns <= 0) continue;  // no image (DICOMDIR, RT struct, ...)
    // An image without SeriesInstanceUID (anonymizers blank it) still counts: group_series groups it.
    s.image_type = get(kImageType);
    s.series_number = get(kSeriesNumber);
    s.acquisition_number = get(kAcquisitionNumber);
    s.study_uid = get(kStudyUid);
    s.modality = get(kModality);
    s.description = get(kSeriesDescription);
    s.patient_id = get(kPatientId);
    s.sop_class = get(kSopClass);
    s.frame_of_reference = get(kFrameOfReference);
    s.orientation = parse_numbers(get(kOrientation));
    s.position = parse_numbers(get(kPosition));
    s.pixel_spacing = parse_numbers(get(kPixelSpacing));
    s.frames = get_int(kFrames, 1);
    s.has_frames_tag = !get(kFrames).empty();
    s.has_grid_offsets = scanner.GetValue(name.c_str(), kGridFrameOffsets) != nullptr;
    s.photometric = get(kPhotometric);
    s.samples = get_int(kSamples, 1);
    s.bits_allocated = get_int(kBitsAllocated, 16);
    s.bits_stored = get_int(kBitsStored, s.bits_allocated);
    s.signed_pixels = get_int(kPixelRepresentation, 0);
    s.instance = get_int(kInstanceNumber, 0);
    s.slope = get_double(kSlope, 1.0);
    s.intercept = get_double(kIntercept, 0.0);
    s.thickness = get_double(kSliceThickness, 0.0);
    if (s.slope == 0.0) s.slope = 1.0;  // a zero slope is a broken header; GDCM treats it the same way
    slices.push_back(std::move(s));
  }
  return slices;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().filename().string()[0] != '.') files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<DicomSeriesInfo> describe(const std::map<std::string, std::vector<Slice>>& series) {
  std::vector<DicomSeriesInfo> out;
  for (const auto& [uid, slices] : series) {
    DicomSeriesInfo info;
    info.series_uid = uid;
    info.modality = slices.front().modality;
    info.description = slices.front().description;
    for (const auto& s : slices) info.slices += std::max(1, s.frames);
    out.push_back(info);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.slices > b.slices; });
  return out;
}

std::string one_line(const DicomSeriesInfo& s) {
  return fmt::format("{} ({}{}{}, {} slice{})", s.series_uid, s.modality.empty() ? "?" : s.modality,
                     s.description.empty() ? "" : ", ", s.description.empty() ? "" : "'" + s.description + "'",
                     s.slices, s.slices == 1 ? "" : "s");
}

// Output dtype: integers when every slope and intercept is integral (int16 when the rescaled
// range of the stored bits fits, else int32); float32 otherwise.
at::ScalarType output_type(const std::vector<Slice>& slices) {
  bool integral = true;
  double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
  bool identity = true;
  for (const auto& s : slices) {
    if (s.slope != std::round(s.slope) || s.intercept != std::round(s.intercept)) integral = false;
    if (s.slope != 1.0 || s.intercept != 0.0) identity = false;
    const int bits = std::clamp(s.bits_stored, 1, 32);
    const double smin = s.signed_pixels ? -std::ldexp(1.0, bits - 1) : 0.0;
    const double smax = s.signed_pixels ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
    const double a = smin * s.slope + s.intercept, b = smax * s.slope + s.intercept;
    lo = std::min({lo, a, b});
    hi = std::max({hi, a, b});
  }
  if (!integral) return at::kFloat;
  if (identity && slices.front().bits_allocated == 8 && !slices.front().signed_pixels) return at::kByte;
  if (lo >= -32768 && hi <= 32767) return at::kShort;
  if (lo >= -2147483648.0 && hi <= 2147483647.0) return at::kInt;
  return at::kFloat;
}

// int32 when the header's range needs it, but int16 when the actual values fit (lossless either way).
at::Tensor narrow_if_exact(const at::Tensor& data) {
  if (data.scalar_type() != at::kInt || data.numel() == 0) return data;
  const auto range = at::aminmax(data);
  if (std::get<0>(range).item<int64_t>() >= -32768 && std::get<1>(range).item<int64_t>() <= 32767)
    return data.to(at::kShort);
  return data;
}

// Reads one file's pixels with GDCM (decoding any compressed transfer syntax GDCM supports),
// checks the pixel data is complete, and applies that file's rescale slope/intercept.
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
      if ((d.compare(at + 4, 2, "OW") == 0 || d.compare(at + 4, 2, "OB") == 0) && u32(at + 8, big) == expected)
        start = at + 12;  // explicit VR
      else if (u32(at + 4, big) == expected)
        start = at + 8;  // implicit VR
      if (start) return start + expected > d.size() ? start + expected - d.size() : 0;
    }
  }
  return 0;
}

// Header problems GDCM would abort on (Debian's GDCM keeps its asserts).
void check_decodable(const Slice& s) {
  const std::string file = s.path.string();
  if (s.bits_allocated % 8 != 0)
    fail(ExitCode::BadInput,
         "cannot read '{}': {}-bit pixel data (e.g. a binary DICOM SEG) is not read as a volume", file,
         s.bits_allocated);
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

Json series_metadata(const std::vector<Slice>& slices) {
  const Slice& s = slices.front();
  Json m = Json::object();
  m["series_uid"] = s.series_uid;
  m["study_uid"] = s.study_uid;
  m["frame_of_reference_uid"] = s.frame_of_reference;
  m["modality"] = s.modality;
  m["description"] = s.description;
  m["patient_id"] = s.patient_id;
  m["sop_class_uid"] = s.sop_class;
  m["slices"] = static_cast<int64_t>(slices.size());
  Json rescale = Json::object();
  rescale["slope"] = s.slope;
  rescale["intercept"] = s.intercept;
  bool varies = false;
  for (const auto& x : slices) varies |= x.slope != s.slope || x.intercept != s.intercept;
  rescale["per_slice"] = varies;
  m["rescale"] = rescale;
  return m;
}

// Sorts a series along its slice normal, checks it and reads it (resampled when tilted and allowed).
Volume read_slices(std::vector<Slice> slices, const fs::path& where, const ReadOptions& options,
                   VolumeFileInfo* info) {
  const std::string name = where.string();
  const Stack stack = order_slices(slices, name, options);
  const std::array<double, 3>&row = stack.row, &col = stack.col, &normal = stack.normal;
  const Slice& first = slices.front();
  const double spacing_z = stack.spacing;
  const size_t n = slices.size();

  Volume volume;
  Geometry& g = volume.geometry;
  g.dims = 3;
  g.size = {first.columns, first.rows, static_cast<int64_t>(n)};
  // PixelSpacing is (row spacing = between rows = along y, column spacing = along x).
  if (first.pixel_spacing.size() == 2 && first.pixel_spacing[0] > 0 && first.pixel_spacing[1] > 0) {
    g.spacing = {first.pixel_spacing[1], first.pixel_spacing[0], spacing_z};
  } else {
    log::warn("'{}': no PixelSpacing; assuming 1 mm", name);
    g.spacing = {1.0, 1.0, spacing_z};
  }
  if (slices.front().position.size() == 3)
    g.origin = {slices.front().position[0], slices.front().position[1], slices.front().position[2]};
  for (int r = 0; r < 3; ++r) {
    g.direction[r * 3 + 0] = row[r];
    g.direction[r * 3 + 1] = col[r];
    g.direction[r * 3 + 2] = normal[r];
  }

  const at::ScalarType type = output_type(slices);
  const int64_t samples = first.samples;
  std::vector<int64_t> shape{static_cast<int64_t>(n), first.rows, first.columns};
  if (samples > 1) shape.push_back(samples);
  at::Tensor data = at::empty(shape, at::TensorOptions().dtype(type));
  for (size_t k = 0; k < n; ++k) read_pixels(slices[k], data[static_cast<int64_t>(k)]);
  const bool tilted = stack.drift_x != 0.0 || stack.drift_y != 0.0;
  if (tilted) {
    data = resample_tilted(data, stack.drift_x, stack.drift_y);
    // The middle slice keeps its place: the grid starts at the first slice's plane, shifted in-plane
    // by the middle slice's drift.
    const double half = (static_cast<double>(n) - 1.0) / 2.0;
    for (int r = 0; r < 3; ++r)
      g.origin[r] += half * (stack.drift_x * g.spacing[0] * row[r] + stack.drift_y * g.spacing[1] * col[r]);
  }
  if (samples > 1) data = data.permute({3, 0, 1, 2}).contiguous();
  data = narrow_if_exact(data);
  volume.data = data;
  if (info) {
    info->format = "DICOM";
    info->stored_type = first.bits_allocated == 8    ? (first.signed_pixels ? PixelType::Int8 : PixelType::UInt8)
                        : first.bits_allocated == 16 ? (first.signed_pixels ? PixelType::Int16 : PixelType::UInt16)
                        : first.bits_allocated == 32 && first.signed_pixels ? PixelType::Int32
                                                                            : PixelType::Auto;
    info->metadata = series_metadata(slices);
    info->metadata["slice_spacing_mm"] = spacing_z;
    if (tilted) info->metadata["gantry_tilt_resampled_degrees"] = stack.tilt_degrees;
  }
  log::debug("read DICOM series {} from '{}': {} slices, {}", first.series_uid, name, n, dtype_name(type));
  return volume;
}

// A multi-frame file: GDCMImageIO computes its geometry (per-frame functional groups).
Volume read_multiframe(const Slice& s, VolumeFileInfo* info) {
  const std::string file = s.path.string();
  check_decodable(s);
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(file);
  try {
    {
      GdcmGuard guard(file);
      io->ReadImageInformation();
    }
    Volume v;
    Geometry& g = v.geometry;
    const unsigned nd = io->GetNumberOfDimensions();
    for (unsigned i = 0; i < 3; ++i) {
      g.size[i] = i < nd ? io->GetDimensions(i) : 1;
      g.spacing[i] = i < nd ? io->GetSpacing(i) : 1.0;
      g.origin[i] = i < nd ? io->GetOrigin(i) : 0.0;
      if (i < nd) {
        const auto axis = io->GetDirection(i);
        for (unsigned r = 0; r < 3; ++r) g.direction[r * 3 + i] = r < axis.size() ? axis[r] : (r == i ? 1.0 : 0.0);
      }
    }
    // Enhanced CT/MR keep RescaleSlope/Intercept in the functional groups, which GDCM reads.
    std::vector<Slice> one{s};
    if (s.slope == 1.0 && s.intercept == 0.0 && io->GetRescaleSlope() != 0.0) {
      one.front().slope = io->GetRescaleSlope();
      one.front().intercept = io->GetRescaleIntercept();
    }
    const at::ScalarType type = output_type(one);
    std::vector<int64_t> shape{g.size[2], g.size[1], g.size[0]};
    if (s.samples > 1) shape.push_back(s.samples);
    at::Tensor data = at::empty(shape, at::TensorOptions().dtype(type));
    read_pixels(one.front(), data);
    if (s.samples > 1) data = data.permute({3, 0, 1, 2}).contiguous();
    data = narrow_if_exact(data);
    v.data = data;
    if (info) {
      info->format = "DICOM";
      info->metadata = series_metadata(one);
      info->metadata["frames"] = s.frames;
    }
    return v;
  } catch (const itk::ExceptionObject& e) {
    fail(ExitCode::BadInput, "cannot read '{}': {}", file, clean_itk_message(e.GetDescription()));
  }
}

}  // namespace

Volume read_dicom(const fs::path& path, const ReadOptions& options, VolumeFileInfo* info) {
  quiet_toolkits();
  const std::string name = path.string();
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    std::vector<Slice> slices = scan({path});
    if (slices.empty())
      fail(ExitCode::BadInput, "cannot read '{}': not a DICOM image (unreadable header or no pixel data)", name);
    if (slices.front().frames > 1) return read_multiframe(slices.front(), info);
    return read_slices(std::move(slices), path, options, info);
  }
  size_t uidless = 0;
  auto series = group_series(scan(files_in(path)), &uidless);
  if (series.empty())
    fail(ExitCode::BadInput, "cannot read '{}': the folder holds no DICOM images (and is not a volume file)", name);
  const auto listed = describe(series);
  if (uidless > 0) {
    const size_t groups = std::count_if(listed.begin(), listed.end(),
                                        [](const DicomSeriesInfo& s) { return s.series_uid.rfind("no-uid-", 0) == 0; });
    log::warn("'{}': {} file{} without SeriesInstanceUID (anonymized?); grouped into {} series by orientation, pixel "
              "spacing, size, modality, series description/number and acquisition number",
              name, uidless, uidless == 1 ? "" : "s", groups);
  }
  std::string uid = options.series_uid;
  if (uid.empty()) {
    uid = listed.front().series_uid;
    if (listed.size() > 1) {
      std::string others;
      for (size_t i = 1; i < listed.size(); ++i) others += (i > 1 ? "; " : "") + one_line(listed[i]);
      log::warn("'{}' holds {} series; reading the largest, {}; others: {} (choose one with --series UID)", name,
                listed.size(), one_line(listed.front()), others);
    }
  } else if (!series.count(uid)) {
    std::string all;
    for (size_t i = 0; i < listed.size(); ++i) all += (i ? "; " : "") + one_line(listed[i]);
    fail(ExitCode::BadInput, "cannot read '{}': no series {} (found: {})", name, uid, all);
  }
  auto& chosen = series[uid];
  const std::vector<DroppedSlice> dropped = drop_localizers(chosen);
  if (!dropped.empty()) {
    std::string files;
    for (size_t i = 0; i < dropped.size() && i < 4; ++i) files += (i ? ", " : "") + dropped[i].file;
    if (dropped.size() > 4) files += fmt::format(" and {} more", dropped.size() - 4);
    log::warn("'{}': dropped {} localizer image{} from series {}: {}", name, dropped.size(),
              dropped.size() == 1 ? "" : "s", uid, files);
  }
  Volume volume = chosen.size() == 1 && chosen.front().frames > 1 ? read_multiframe(chosen.front(), info)
                                                                  : read_slices(std::move(chosen), path, options, info);
  if (info) {
    if (uidless > 0) info->metadata["series_uid_missing"] = uid.rfind("no-uid-", 0) == 0;
    Json list = Json::array();
    for (const auto& d : dropped) {
      Json j = Json::object();
      j["file"] = d.file;
      j["reason"] = d.reason;
      list.push_back(j);
    }
    info->metadata["dropped"] = list;
  }
  return volume;
}

}  // namespace detail

bool is_dicom_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  {
    std::ifstream in(path, std::ios::binary);
    char buf[132] = {};
    in.read(buf, sizeof buf);
    if (in.gcount() == 132 && std::string(buf + 128, 4) == "DICM") return true;
  }
  // Files without the preamble (older or raw datasets): only .dcm files, parsed up to the SOP class.
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext != ".dcm") return false;
  detail::quiet_toolkits();
  detail::GdcmGuard guard(path.string());
  gdcm::Reader reader;
  reader.SetFileName(path.string().c_str());
  std::set<gdcm::Tag> tags{gdcm::Tag(0x0008, 0x0016)};
  return reader.ReadSelectedTags(tags);
}

bool is_dicom_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& f : detail::files_in(dir))
    if (is_dicom_file(f)) return true;
  return false;
}

std::vector<DicomSeriesInfo> list_dicom_series(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ExitCode::BadInput, "cannot read '{}': not a folder", dir.string());
  const auto series = detail::group_series(detail::scan(detail::files_in(dir)));
  if (series.empty()) fail(ExitCode::BadInput, "cannot read '{}': the folder holds no DICOM images", dir.string());
  return detail::describe(series);
}

}  // namespace voxseg::io
