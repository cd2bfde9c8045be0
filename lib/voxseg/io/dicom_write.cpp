// Writing DICOM series with DCMTK (dcmdata): CT or MR Image Storage, one file per slice, int16
// pixels with a rescale, deterministic UIDs (no clock, no random numbers), written into a hidden
// folder and renamed into place.
#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/oflog/oflog.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/sha256.h"
#include "voxseg/io/detail/hashed_uid.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/dicom_series.h"

namespace fs = std::filesystem;

namespace voxseg::io {
namespace {

// "2.25.<decimal of 128 bits>": a UID derived from a hash (ISO/IEC 9834-8 UUID arc), so the same
// seed and purpose always give the same UID.
std::string uid_from(const std::string& seed, const std::string& purpose) {
  return detail::hashed_uid(seed + "|" + purpose);
}

std::string ds_number(double v) {  // DS: at most 16 characters
  for (int precision = 10; precision >= 1; --precision) {
    std::string s = fmt::format("{:.{}g}", v, precision);
    if (s.size() <= 16) return s;
  }
  return "0";
}

struct Rescale {
  double slope = 1.0, intercept = 0.0;
  bool lossless = true;
};

// int16 storage: values that are integers and fit are stored as they are; integers spanning at
// most 65536 values are shifted by the intercept; anything else is scaled (lossy, reported).
Rescale choose_rescale(const at::Tensor& values) {
  Rescale r;
  if (values.numel() == 0) return r;
  const double lo = values.min().item<double>(), hi = values.max().item<double>();
  const bool integral = at::equal(values, values.round());
  if (integral && lo >= -32768 && hi <= 32767) return r;
  if (integral && hi - lo <= 65535) {
    r.intercept = lo + 32768;
    return r;
  }
  r.lossless = false;
  r.slope = hi > lo ? (hi - lo) / 65535.0 : 1.0;
  r.intercept = lo + 32768.0 * r.slope;
  // DS text must round-trip what we compute with.
  r.slope = std::stod(ds_number(r.slope));
  r.intercept = std::stod(ds_number(r.intercept));
  return r;
}

void put(DcmDataset& ds, const DcmTagKey& tag, const std::string& value) {
  const OFCondition c = ds.putAndInsertString(tag, value.c_str());
  if (c.bad()) fail(ExitCode::Internal, "DICOM writer: cannot set {}: {}", DcmTag(tag).getTagName(), c.text());
}

std::string unique_temp(const fs::path& target) {
  return fmt::format(".{}.partial-{}", target.filename().string(), ::getpid());
}

}  // namespace

void write_dicom_series(const Volume& volume, const fs::path& dir_in, const DicomWriteOptions& options) {
  detail::configure_dcmtk_log();
  // "out/" -> "out"
  fs::path dir = dir_in;
  if (dir.filename().empty()) dir = dir.parent_path();
  const std::string name = dir.string();
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    fail(ExitCode::CannotWrite, "cannot write '{}': folder '{}' does not exist", name, parent.string());
  bool replace = false;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      fail(ExitCode::CannotWrite, "cannot write DICOM series '{}': a file of that name exists", name);
    const bool empty = fs::is_empty(dir, ec);
    if (!empty && !options.overwrite)
      fail(ExitCode::CannotWrite, "output '{}' already exists; use --force to overwrite it", name);
    if (!empty) {
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (!e.is_regular_file() || !is_dicom_file(e.path()))
          fail(ExitCode::CannotWrite,
               "cannot overwrite '{}': it holds '{}', which is not a DICOM file; remove the folder yourself", name,
               e.path().filename().string());
    }
    replace = true;
  }

  const Geometry& g = volume.geometry;
  if (!volume.data.defined() || volume.data.dim() != 3)
    fail(ExitCode::CannotWrite, "cannot write DICOM series '{}': only scalar volumes [Z,Y,X] (got {} dimensions)",
         name, volume.data.defined() ? volume.data.dim() : 0);
  if (at::isComplexType(volume.data.scalar_type()))
    fail(ExitCode::CannotWrite, "cannot write DICOM series '{}': complex values", name);

  // DICOM slices are ordered along row x column; a left-handed grid is written with its slices
  // reversed (same voxels in space, z axis flipped).
  std::array<double, 3> x{g.direction[0], g.direction[3], g.direction[6]}, y{g.direction[1], g.direction[4], g.direction[7]},
      z{g.direction[2], g.direction[5], g.direction[8]};
  const std::array<double, 3> n{x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]};
  const double handedness = n[0] * z[0] + n[1] * z[1] + n[2] * z[2];
  if (std::abs(std::abs(handedness) - 1.0) > 1e-4 || std::abs(x[0] * y[0] + x[1] * y[1] + x[2] * y[2]) > 1e-4)
    fail(ExitCode::CannotWrite, "cannot write DICOM series '{}': the direction matrix is not orthonormal", name);
  at::Tensor data = volume.data.cpu().to(at::kDouble);
  std::array<double, 3> origin = g.origin;
  if (handedness < 0) {
    data = data.flip({0});
    const auto last = g.index_to_physical({0, 0, static_cast<double>(g.size[2] - 1)});
    origin = last;
    log::debug("'{}': left-handed grid written with slices reversed", name);
  }
  if (!at::isfinite(data).all().item<bool>())
    fail(ExitCode::CannotWrite, "cannot write DICOM series '{}': the volume has NaN or infinite values", name);
  const Rescale rescale = choose_rescale(data);
  if (!rescale.lossless)
    log::warn("'{}': values are not integers within int16; stored with rescale slope {} (rounded to that step)", name,
              rescale.slope);
  const at::Tensor stored =
      ((data - rescale.intercept) / rescale.slope).round().clamp(-32768, 32767).to(at::kShort).contiguous();

  const bool is_mr = options.modality == "MR";
  const char* sop_class = is_mr ? UID_MRImageStorage : UID_CTImageStorage;
  // Seed: the caller's, or a hash of voxels, geometry and options, so the same input gives the same files.
  std::string seed = options.uid_seed;
  if (seed.empty()) {
    const std::string_view bytes(static_cast<const char*>(stored.data_ptr()), stored.numel() * sizeof(int16_t));
    seed = sha256_hex(bytes) + fmt::format("|{}|{}|{}|{}|{}|{}", fmt::join(g.size, ","), fmt::join(g.spacing, ","),
                                           fmt::join(origin, ","), fmt::join(g.direction, ","), options.modality,
                                           options.series_description);
  }
  const std::string study_uid = uid_from(seed, "study"), series_uid = uid_from(seed, "series"),
                    frame_uid = uid_from(seed, "frame-of-reference");
  const std::string iop = fmt::format("{}\\{}\\{}\\{}\\{}\\{}", ds_number(x[0]), ds_number(x[1]), ds_number(x[2]),
                                      ds_number(y[0]), ds_number(y[1]), ds_number(y[2]));
  const std::string pixel_spacing = ds_number(g.spacing[1]) + "\\" + ds_number(g.spacing[0]);

  const fs::path temp = parent / unique_temp(dir);
  fs::remove_all(temp, ec);
  if (!fs::create_directory(temp, ec))
    fail(ExitCode::CannotWrite, "cannot write '{}': cannot create '{}': {}", name, temp.string(), ec.message());
  cleanup::add(temp);
  struct RemoveTemp {
    fs::path path;
    ~RemoveTemp() {
      std::error_code e;
      fs::remove_all(path, e);
      cleanup::remove(path);
    }
  } remove_temp{temp};

  const int64_t slices = g.size[2], rows = g.size[1], cols = g.size[0];
  for (int64_t k = 0; k < slices; ++k) {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    const std::string sop_uid = uid_from(seed, fmt::format("instance-{}", k + 1));
    std::array<double, 3> pos{};
    for (int r = 0; r < 3; ++r) pos[r] = origin[r] + n[r] * g.spacing[2] * static_cast<double>(k);
    put(ds, DCM_SpecificCharacterSet, "ISO_IR 100");
    put(ds, DCM_ImageType, "DERIVED\\SECONDARY\\AXIAL");
    put(ds, DCM_SOPClassUID, sop_class);
    put(ds, DCM_SOPInstanceUID, sop_uid);
    put(ds, DCM_StudyDate, "");
    put(ds, DCM_StudyTime, "");
    put(ds, DCM_AccessionNumber, "");
    put(ds, DCM_Modality, is_mr ? "MR" : "CT");
    put(ds, DCM_Manufacturer, "voxseg");
    put(ds, DCM_ReferringPhysicianName, "");
    put(ds, DCM_SeriesDescription, options.series_description);
    put(ds, DCM_Laterality, "");
    put(ds, DCM_PatientPosition, "");
    put(ds, DCM_PatientName, options.patient_name);
    put(ds, DCM_PatientID, options.patient_id);
    put(ds, DCM_PatientBirthDate, "");
    put(ds, DCM_PatientSex, "");
    put(ds, DCM_SliceThickness, ds_number(g.spacing[2]));
    put(ds, DCM_SpacingBetweenSlices, ds_number(g.spacing[2]));
    if (is_mr) {
      put(ds, DCM_ScanningSequence, "RM");
      put(ds, DCM_SequenceVariant, "NONE");
      put(ds, DCM_ScanOptions, "");
      put(ds, DCM_MRAcquisitionType, "3D");
      put(ds, DCM_EchoTime, "");
      put(ds, DCM_RepetitionTime, "");
      put(ds, DCM_EchoTrainLength, "");
      put(ds, DCM_MagneticFieldStrength, "");
    } else {
      put(ds, DCM_KVP, "");
    }
    put(ds, DCM_StudyInstanceUID, study_uid);
    put(ds, DCM_SeriesInstanceUID, series_uid);
    put(ds, DCM_StudyID, "1");
    put(ds, DCM_SeriesNumber, "1");
    put(ds, DCM_AcquisitionNumber, "1");
    put(ds, DCM_InstanceNumber, std::to_string(k + 1));
    put(ds, DCM_ImagePositionPatient,
        fmt::format("{}\\{}\\{}", ds_number(pos[0]), ds_number(pos[1]), ds_number(pos[2])));
    put(ds, DCM_ImageOrientationPatient, iop);
    put(ds, DCM_FrameOfReferenceUID, frame_uid);
    put(ds, DCM_PositionReferenceIndicator, "");
    ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
    put(ds, DCM_PhotometricInterpretation, "MONOCHROME2");
    ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rows));
    ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(cols));
    put(ds, DCM_PixelSpacing, pixel_spacing);
    ds.putAndInsertUint16(DCM_BitsAllocated, 16);
    ds.putAndInsertUint16(DCM_BitsStored, 16);
    ds.putAndInsertUint16(DCM_HighBit, 15);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 1);
    put(ds, DCM_RescaleIntercept, ds_number(rescale.intercept));
    put(ds, DCM_RescaleSlope, ds_number(rescale.slope));
    put(ds, DCM_RescaleType, is_mr ? "US" : "HU");
    const at::Tensor plane = stored[k].contiguous();
    const OFCondition pc = ds.putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(plane.data_ptr()),
                                                      static_cast<unsigned long>(rows * cols));
    if (pc.bad()) fail(ExitCode::Internal, "DICOM writer: cannot set pixel data: {}", pc.text());
    const fs::path out = temp / fmt::format("IMG{:04d}.dcm", k + 1);
    const OFCondition c = file.saveFile(out.string().c_str(), EXS_LittleEndianExplicit);
    if (c.bad()) fail(ExitCode::CannotWrite, "cannot write '{}': {}", out.string(), c.text());
  }

  if (replace) {
    if (fs::is_empty(dir, ec)) {
      fs::remove(dir, ec);
    } else {
      const fs::path old = parent / fmt::format(".{}.old-{}", dir.filename().string(), ::getpid());
      fs::rename(dir, old, ec);
      if (ec) fail(ExitCode::CannotWrite, "cannot replace '{}': {}", name, ec.message());
      fs::remove_all(old, ec);
    }
  }
  fs::rename(temp, dir, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot write '{}': {}", name, ec.message());
  log::debug("wrote DICOM series '{}': {} slices, series {}", name, slices, series_uid);
}

}  // namespace voxseg::io
