// DICOM series discovery through GDCM: which files of a folder are DICOM images, their header
// fields (gdcm::Scanner reads headers only, no pixel data), and the series they make.
#include "voxseg/io/dicom_series.h"

#include <gdcmReader.h>
#include <gdcmScanner.h>
#include <gdcmTag.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "voxseg/core/error.h"
#include "voxseg/io/detail/dicom_guard.h"
#include "voxseg/io/detail/dicom_slice.h"
#include "voxseg/io/detail/io_common.h"

namespace fs = std::filesystem;

namespace voxseg::io {
namespace detail {
namespace {

const gdcm::Tag kSopClass(0x0008, 0x0016), kModality(0x0008, 0x0060), kSeriesDescription(0x0008, 0x103e),
    kPatientId(0x0010, 0x0020), kSliceThickness(0x0018, 0x0050), kStudyUid(0x0020, 0x000d), kSeriesUid(0x0020, 0x000e),
    kInstanceNumber(0x0020, 0x0013), kPosition(0x0020, 0x0032), kOrientation(0x0020, 0x0037),
    kFrameOfReference(0x0020, 0x0052), kFrames(0x0028, 0x0008), kRows(0x0028, 0x0010), kColumns(0x0028, 0x0011),
    kPixelSpacing(0x0028, 0x0030), kBitsAllocated(0x0028, 0x0100), kBitsStored(0x0028, 0x0101),
    kPixelRepresentation(0x0028, 0x0103), kSamples(0x0028, 0x0002), kIntercept(0x0028, 0x1052), kSlope(0x0028, 0x1053),
    kPhotometric(0x0028, 0x0004), kGridFrameOffsets(0x3004, 0x000c), kImageType(0x0008, 0x0008),
    kSeriesNumber(0x0020, 0x0011), kAcquisitionNumber(0x0020, 0x0012);

const gdcm::Tag kScannedTags[] = {kSopClass,      kModality,         kSeriesDescription,
                                  kPatientId,     kSliceThickness,   kStudyUid,
                                  kSeriesUid,     kInstanceNumber,   kPosition,
                                  kOrientation,   kFrameOfReference, kFrames,
                                  kRows,          kColumns,          kPixelSpacing,
                                  kBitsAllocated, kBitsStored,       kPixelRepresentation,
                                  kSamples,       kIntercept,        kSlope,
                                  kPhotometric,   kGridFrameOffsets, kImageType,
                                  kSeriesNumber,  kAcquisitionNumber};

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

}  // namespace

std::vector<Slice> scan_slices(const std::vector<fs::path>& files) {
  quiet_toolkits();
  gdcm::Scanner scanner;
  for (const gdcm::Tag& t : kScannedTags) scanner.AddTag(t);
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.string());
  {
    GdcmGuard guard(files.size() == 1 ? names.front()
                    : names.empty()   ? ""
                                      : fs::path(names.front()).parent_path().string());
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

std::vector<DicomSeriesInfo> describe_series(const std::map<std::string, std::vector<Slice>>& series) {
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

std::string series_one_line(const DicomSeriesInfo& s) {
  return fmt::format("{} ({}{}{}, {} slice{})", s.series_uid, s.modality.empty() ? "?" : s.modality,
                     s.description.empty() ? "" : ", ", s.description.empty() ? "" : "'" + s.description + "'",
                     s.slices, s.slices == 1 ? "" : "s");
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
  const auto series = detail::group_series(detail::scan_slices(detail::files_in(dir)));
  if (series.empty()) fail(ExitCode::BadInput, "cannot read '{}': the folder holds no DICOM images", dir.string());
  return detail::describe_series(series);
}

}  // namespace voxseg::io
