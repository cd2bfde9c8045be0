// DICOM reading: a single file or a series folder. The series is found (dicom_scan.cpp), sorted along
// the slice normal and checked for consistent orientation, size and spacing (dicom_stack.cpp) before
// any pixel data is read (dicom_pixels.cpp); multi-frame files go through ITK's GDCMImageIO.
#include <ATen/ATen.h>
#include <itkGDCMImageIO.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/detail/dicom_guard.h"
#include "voxseg/io/detail/dicom_slice.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/dicom_series.h"

namespace fs = std::filesystem;

namespace voxseg::io::detail {
namespace {

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
    std::vector<Slice> slices = scan_slices({path});
    if (slices.empty())
      fail(ExitCode::BadInput, "cannot read '{}': not a DICOM image (unreadable header or no pixel data)", name);
    if (slices.front().frames > 1) return read_multiframe(slices.front(), info);
    return read_slices(std::move(slices), path, options, info);
  }
  size_t uidless = 0;
  auto series = group_series(scan_slices(files_in(path)), &uidless);
  if (series.empty())
    fail(ExitCode::BadInput, "cannot read '{}': the folder holds no DICOM images (and is not a volume file)", name);
  const auto listed = describe_series(series);
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
      for (size_t i = 1; i < listed.size(); ++i) others += (i > 1 ? "; " : "") + series_one_line(listed[i]);
      log::warn("'{}' holds {} series; reading the largest, {}; others: {} (choose one with --series UID)", name,
                listed.size(), series_one_line(listed.front()), others);
    }
  } else if (!series.count(uid)) {
    std::string all;
    for (size_t i = 0; i < listed.size(); ++i) all += (i ? "; " : "") + series_one_line(listed[i]);
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

}  // namespace voxseg::io::detail
