// The source series of a DICOM SEG, from headers only (DCMTK stops parsing at the pixel data).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "voxseg/core/error.h"
#include "voxseg/io/detail/dicom_seg_source.h"

namespace fs = std::filesystem;

namespace voxseg::io::detail {
namespace {

std::string get(DcmDataset& ds, const DcmTagKey& tag) {
  OFString v;
  if (ds.findAndGetOFStringArray(tag, v).good()) return std::string(v.c_str());
  return "";
}

bool read_header(const fs::path& file, SourceSlice& s) {
  DcmFileFormat ff;
  if (ff.loadFileUntilTag(file.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect, DCM_PixelData).bad())
    return false;
  DcmDataset& ds = *ff.getDataset();
  s.path = file;
  s.sop_class = get(ds, DCM_SOPClassUID);
  s.sop_uid = get(ds, DCM_SOPInstanceUID);
  s.series_uid = get(ds, DCM_SeriesInstanceUID);
  s.study_uid = get(ds, DCM_StudyInstanceUID);
  s.patient_id = get(ds, DCM_PatientID);
  s.frame_of_reference = get(ds, DCM_FrameOfReferenceUID);
  Uint16 rows = 0, columns = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, columns);
  s.rows = rows;
  s.columns = columns;
  if (s.sop_uid.empty() || s.series_uid.empty() || rows == 0 || columns == 0) return false;  // not an image
  const std::string frames = get(ds, DCM_NumberOfFrames);
  s.frames = frames.empty() ? 1 : std::max(1, std::atoi(frames.c_str()));
  const auto iop = parse_ds(get(ds, DCM_ImageOrientationPatient));
  const auto ipp = parse_ds(get(ds, DCM_ImagePositionPatient));
  const auto spacing = parse_ds(get(ds, DCM_PixelSpacing));
  if (iop.size() != 6 || ipp.size() != 3) {
    s.orientation = {};
    return true;  // reported by the caller (no geometry)
  }
  std::copy(iop.begin(), iop.end(), s.orientation.begin());
  std::copy(ipp.begin(), ipp.end(), s.position.begin());
  for (int i = 0; i < 3; ++i) {
    OFString v;
    ds.findAndGetOFString(DCM_ImagePositionPatient, v, i);
    s.position_text[i] = v.c_str();
  }
  if (spacing.size() == 2 && spacing[0] > 0 && spacing[1] > 0) s.pixel_spacing = {spacing[0], spacing[1]};
  const auto thickness = parse_ds(get(ds, DCM_SliceThickness));
  if (!thickness.empty()) s.thickness = thickness[0];
  return true;
}

}  // namespace

std::vector<double> parse_ds(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, '\\');) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (end == item.c_str()) return {};
    out.push_back(v);
  }
  return out;
}

std::string ds_text(double v) {
  if (std::abs(v) < 1e-12) v = 0.0;
  for (int precision = 12; precision >= 1; --precision) {
    std::string s = fmt::format("{:.{}g}", v, precision);
    if (s.size() <= 16) return s;
  }
  return "0";
}

std::array<double, 3> cross3(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

SourceSeries scan_source_series(const fs::path& path, const std::string& series_uid) {
  configure_dcmtk_log();
  const std::string name = path.string();
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file(ec) && e.path().filename().string()[0] != '.') files.push_back(e.path());
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  } else {
    fail(ExitCode::BadInput, "cannot read reference series '{}': no such file or folder", name);
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::vector<SourceSlice>> series;
  for (const auto& f : files) {
    SourceSlice s;
    if (read_header(f, s) && s.sop_class != "1.2.840.10008.5.1.4.1.1.66.4") series[s.series_uid].push_back(s);
  }
  if (series.empty()) fail(ExitCode::BadInput, "cannot read reference series '{}': no DICOM images there", name);
  std::string uid = series_uid;
  if (uid.empty()) {
    size_t most = 0;
    for (const auto& [u, v] : series)
      if (v.size() > most) most = v.size(), uid = u;
  } else if (!series.count(uid)) {
    fail(ExitCode::BadInput, "cannot read reference series '{}': no series {} there", name, uid);
  }
  SourceSeries out;
  out.slices = std::move(series[uid]);
  auto& slices = out.slices;
  const SourceSlice& first = slices.front();
  for (const auto& s : slices) {
    if (s.frames > 1)
      fail(ExitCode::BadInput,
           "reference series '{}': '{}' is a multi-frame image; SEG references need single-frame slices", name,
           s.path.filename().string());
    if (s.orientation == std::array<double, 6>{})
      fail(ExitCode::BadInput, "reference series '{}': '{}' has no ImageOrientationPatient/ImagePositionPatient", name,
           s.path.filename().string());
    if (s.rows != first.rows || s.columns != first.columns)
      fail(ExitCode::BadInput, "reference series '{}': slices of different sizes ({}x{} and {}x{})", name,
           first.columns, first.rows, s.columns, s.rows);
    for (int i = 0; i < 6; ++i)
      if (std::abs(s.orientation[i] - first.orientation[i]) > 1e-3)
        fail(ExitCode::BadInput, "reference series '{}': slices of different orientations (a localizer?)", name);
  }
  const std::array<double, 3> row{first.orientation[0], first.orientation[1], first.orientation[2]},
      col{first.orientation[3], first.orientation[4], first.orientation[5]};
  const auto normal = cross3(row, col);
  for (auto& s : slices)
    s.along_normal = s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
  std::stable_sort(slices.begin(), slices.end(),
                   [](const SourceSlice& a, const SourceSlice& b) { return a.along_normal < b.along_normal; });
  const size_t n = slices.size();
  double spacing_z = first.thickness > 0 ? first.thickness : 1.0;
  if (n > 1) {
    for (size_t i = 1; i < n; ++i)
      if (slices[i].along_normal - slices[i - 1].along_normal < 1e-3)
        fail(ExitCode::BadInput, "reference series '{}': '{}' and '{}' lie at the same position", name,
             slices[i - 1].path.filename().string(), slices[i].path.filename().string());
    spacing_z = (slices.back().along_normal - slices.front().along_normal) / double(n - 1);
    for (size_t i = 1; i < n; ++i)
      if (std::abs(slices[i].along_normal - slices[i - 1].along_normal - spacing_z) > 0.05 * spacing_z)
        fail(ExitCode::BadInput, "reference series '{}': non-uniform slice spacing (missing slices?) near '{}'", name,
             slices[i].path.filename().string());
  }
  Geometry& g = out.geometry;
  g.dims = 3;
  g.size = {first.columns, first.rows, int64_t(n)};
  g.spacing = {slices.front().pixel_spacing[1], slices.front().pixel_spacing[0], spacing_z};
  g.origin = slices.front().position;
  for (int r = 0; r < 3; ++r) {
    g.direction[r * 3 + 0] = row[r];
    g.direction[r * 3 + 1] = col[r];
    g.direction[r * 3 + 2] = normal[r];
  }
  return out;
}

}  // namespace voxseg::io::detail
