// The public entry points of io/volume_io.h: pixel type names, which paths are volume files, and
// read_volume/write_volume deciding the format (DICOM folder or file, DICOM SEG, or a file ITK reads:
// volume_itk_read.cpp / volume_itk_write.cpp).
#include "voxseg/io/volume_io.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/io/detail/dicom_seg_source.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/detail/itk_volume.h"
#include "voxseg/io/dicom_seg.h"
#include "voxseg/io/dicom_series.h"

namespace fs = std::filesystem;

namespace voxseg::io {

// ---------------------------------------------------------------------------------------------
// Pixel types
// ---------------------------------------------------------------------------------------------
namespace {
struct PixelTypeName {
  PixelType type;
  const char* name;
};
constexpr PixelTypeName kPixelTypeNames[] = {
    {PixelType::Auto, "auto"},       {PixelType::UInt8, "uint8"},     {PixelType::Int8, "int8"},
    {PixelType::UInt16, "uint16"},   {PixelType::Int16, "int16"},     {PixelType::Int32, "int32"},
    {PixelType::Float32, "float32"}, {PixelType::Float64, "float64"},
};
}  // namespace

std::string pixel_type_name(PixelType type) {
  for (const auto& p : kPixelTypeNames)
    if (p.type == type) return p.name;
  return "unknown";
}

PixelType parse_pixel_type(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "float") lower = "float32";
  if (lower == "double") lower = "float64";
  for (const auto& p : kPixelTypeNames)
    if (lower == p.name) return p.type;
  fail(ExitCode::Usage, "unknown pixel type '{}' (use auto, uint8, int8, uint16, int16, int32, float32 or float64)",
       name);
}

bool is_volume_path(const fs::path& path) {
  static const char* kKnown[] = {".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm"};
  const std::string ext = detail::lower_extension(path);
  return std::any_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return ext == k; });
}

std::string volume_file_extension_problem(const std::string& ext) {
  const char* kWritable = ".nii.gz, .nii, .nrrd, .nhdr, .mha or .mhd";
  if (ext.empty() || ext[0] != '.') {
    const bool known = !ext.empty() && is_volume_path("x." + ext);
    return fmt::format("'{}' needs its leading dot{} (one of {}); without it the output would be a DICOM folder", ext,
                       known ? fmt::format(": did you mean '.{}'?", ext) : std::string(), kWritable);
  }
  const std::string lower = detail::lower_extension("x" + ext);
  if (lower == ".dcm") return fmt::format("single .dcm files are not written (use {})", kWritable);
  if (!is_volume_path("x" + ext)) return fmt::format("unknown extension '{}' (use {})", ext, kWritable);
  return "";
}

// ---------------------------------------------------------------------------------------------
// Reading and writing: which format
// ---------------------------------------------------------------------------------------------
Volume read_volume(const std::string& path_text, const ReadOptions& options, VolumeFileInfo* info) {
  detail::quiet_toolkits();
  const fs::path path(path_text);
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ExitCode::BadInput, "cannot read '{}': no such file or folder", path_text);
  if (fs::is_directory(path, ec)) return detail::read_dicom(path, options, info);
  detail::check_readable_file(path);

  const std::string ext = detail::lower_extension(path);
  detail::NiftiHeaderFacts nifti;
  if (ext == ".nii" || ext == ".nii.gz") nifti = detail::check_nifti_header(path);
  const bool known_itk = ext == ".nii" || ext == ".nii.gz" || ext == ".nrrd" || ext == ".nhdr" || ext == ".mha" ||
                         ext == ".mhd";
  if (!known_itk && is_dicom_file(path)) {
    if (is_dicom_seg_file(path)) return detail::read_seg_as_volume(path, info);  // a SEG is a label map
    return detail::read_dicom(path, options, info);
  }
  return detail::read_itk_volume(path, nifti, info);
}

bool is_series_target(const fs::path& path) {
  const std::string text = path.string();
  std::error_code ec;
  if (!text.empty() && text.back() == '/') return true;
  if (fs::is_directory(path, ec)) return true;
  return detail::lower_extension(path).empty();
}

void check_volume_output(const fs::path& path, bool overwrite, bool series) {
  if (!series) {
    check_output_path(path, overwrite);
    return;
  }
  fs::path dir = path;
  if (dir.filename().empty()) dir = dir.parent_path();
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    fail(ExitCode::CannotWrite, "cannot write '{}': folder '{}' does not exist", dir.string(), parent.string());
  if (fs::exists(dir, ec) && !overwrite && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec)))
    fail(ExitCode::CannotWrite, "output '{}' already exists; use --force to overwrite it", dir.string());
}

void write_volume(const Volume& volume, const fs::path& path, const WriteOptions& options) {
  detail::quiet_toolkits();
  if (is_series_target(path)) {
    DicomWriteOptions dicom;
    dicom.overwrite = options.overwrite;
    write_dicom_series(volume, path, dicom);
    return;
  }
  check_output_path(path, options.overwrite);
  const std::string ext = detail::lower_extension(path);
  if (ext == ".dcm")
    fail(ExitCode::CannotWrite, "cannot write '{}': single .dcm files are not written; give a folder for a DICOM series",
         path.string());
  if (!is_volume_path(path))
    fail(ExitCode::CannotWrite, "cannot write '{}': unknown extension '{}' (use .nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd)",
         path.string(), ext);

  const Geometry& g = volume.geometry;
  if (!volume.data.defined()) fail(ExitCode::Internal, "cannot write '{}': volume has no data", path.string());
  at::Tensor data = volume.data.cpu();
  int64_t components = 1;
  if (data.dim() == 4) {
    components = data.size(0);
    data = data.permute({1, 2, 3, 0});  // [C,Z,Y,X] -> [Z,Y,X,C]: ITK interleaves components
  } else if (data.dim() != 3) {
    fail(ExitCode::Internal, "cannot write '{}': tensor has {} dimensions (expected [Z,Y,X] or [C,Z,Y,X])",
         path.string(), data.dim());
  }
  if (data.size(0) != g.size[2] || data.size(1) != g.size[1] || data.size(2) != g.size[0])
    fail(ExitCode::Internal, "cannot write '{}': tensor shape does not match geometry size {}x{}x{}", path.string(),
         g.size[0], g.size[1], g.size[2]);
  detail::write_itk_volume(data, components, g, path, options);
}

}  // namespace voxseg::io
