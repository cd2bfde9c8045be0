// Writing volume files through ITK's ImageIO: the on-disk pixel type (checked conversion from the
// tensor), ITK's writer, atomic replacement, and detached-header pairs (.nhdr/.mhd).
#include <ATen/ATen.h>
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <unistd.h>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/detail/itk_volume.h"

namespace fs = std::filesystem;

namespace voxseg::io::detail {
namespace {

using itk::IOComponentEnum;

PixelType auto_pixel_type(at::ScalarType t) {
  switch (t) {
    case at::kByte:
    case at::kBool: return PixelType::UInt8;
    case at::kChar: return PixelType::Int8;
    case at::kShort: return PixelType::Int16;
    case at::kInt:
    case at::kLong: return PixelType::Int32;
    case at::kDouble: return PixelType::Float64;
    default: return PixelType::Float32;
  }
}

struct IntRange {
  double lo, hi;
};

bool integer_range(PixelType t, IntRange& r) {
  switch (t) {
    case PixelType::UInt8: r = {0, 255}; return true;
    case PixelType::Int8: r = {-128, 127}; return true;
    case PixelType::UInt16: r = {0, 65535}; return true;
    case PixelType::Int16: r = {-32768, 32767}; return true;
    case PixelType::Int32: r = {-2147483648.0, 2147483647.0}; return true;
    default: return false;
  }
}

IOComponentEnum itk_component(PixelType t) {
  switch (t) {
    case PixelType::UInt8: return IOComponentEnum::UCHAR;
    case PixelType::Int8: return IOComponentEnum::CHAR;
    case PixelType::UInt16: return IOComponentEnum::USHORT;
    case PixelType::Int16: return IOComponentEnum::SHORT;
    case PixelType::Int32: return IOComponentEnum::INT;
    case PixelType::Float64: return IOComponentEnum::DOUBLE;
    default: return IOComponentEnum::FLOAT;
  }
}

// Converts to the on-disk type: integers from floats are rounded to nearest; values that do not
// fit fail rather than wrap. Returns [Z,Y,X(,C)] contiguous bytes in `bytes` order.
at::Tensor convert_for_disk(const at::Tensor& data, PixelType target, const fs::path& path) {
  at::Tensor src = data;
  if (src.scalar_type() == at::kBool) src = src.to(at::kByte);
  IntRange range{};
  if (integer_range(target, range)) {
    at::Tensor values = src;
    if (at::isFloatingType(src.scalar_type())) {
      if (!at::isfinite(src).all().item<bool>())
        fail(ExitCode::BadInput, "cannot write '{}' as {}: the volume has NaN or infinite values", path.string(),
             pixel_type_name(target));
      values = src.to(at::kDouble).round();
    }
    if (values.numel() > 0) {
      const double lo = values.min().item<double>(), hi = values.max().item<double>();
      if (lo < range.lo || hi > range.hi)
        fail(ExitCode::BadInput, "cannot write '{}' as {}: values {}..{} do not fit its range {}..{}", path.string(),
             pixel_type_name(target), lo, hi, range.lo, range.hi);
    }
    if (target == PixelType::UInt16) return values.to(at::kInt);  // narrowed to uint16 by the caller
    const at::ScalarType t = target == PixelType::UInt8   ? at::kByte
                             : target == PixelType::Int8  ? at::kChar
                             : target == PixelType::Int16 ? at::kShort
                                                          : at::kInt;
    return values.to(t);
  }
  return src.to(target == PixelType::Float64 ? at::kDouble : at::kFloat);
}

void write_with_itk(const at::Tensor& disk, PixelType target, const Geometry& g, int64_t components,
                    const fs::path& file, bool compress) {
  const std::string name = file.string();
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(name.c_str(), itk::ImageIOFactory::IOFileModeEnum::WriteMode);
  if (!io) fail(ExitCode::CannotWrite, "cannot write '{}': no writer for this extension", name);
  const unsigned n = static_cast<unsigned>(g.dims);
  io->SetNumberOfDimensions(n);
  itk::ImageIORegion region(n);
  for (unsigned i = 0; i < n; ++i) {
    io->SetDimensions(i, static_cast<unsigned>(g.size[i]));
    io->SetSpacing(i, g.spacing[i]);
    io->SetOrigin(i, g.origin[i]);
    std::vector<double> axis(n);
    for (unsigned r = 0; r < n; ++r) axis[r] = g.direction[r * 3 + i];
    io->SetDirection(i, axis);
    region.SetIndex(i, 0);
    region.SetSize(i, static_cast<itk::SizeValueType>(g.size[i]));
  }
  io->SetIORegion(region);
  io->SetComponentType(itk_component(target));
  io->SetNumberOfComponents(static_cast<unsigned>(components));
  io->SetPixelType(components > 1 ? itk::IOPixelEnum::VECTOR : itk::IOPixelEnum::SCALAR);
  io->SetUseCompression(compress);
  io->SetFileName(name);
  if (target == PixelType::UInt16) {
    std::vector<uint16_t> buffer(static_cast<size_t>(disk.numel()));
    const auto* src = disk.data_ptr<int32_t>();
    for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<uint16_t>(src[i]);
    io->Write(buffer.data());
  } else {
    io->Write(disk.data_ptr());
  }
}

// Detached-header formats write two files; write both into a hidden folder, then move them.
void write_detached(const at::Tensor& disk, PixelType target, const Geometry& g, int64_t components,
                    const fs::path& path, bool overwrite) {
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path temp_dir = parent / fmt::format(".{}.partial-{}.d", stem_without_extension(path), ::getpid());
  std::error_code ec;
  fs::remove_all(temp_dir, ec);
  if (!fs::create_directory(temp_dir, ec))
    fail(ExitCode::CannotWrite, "cannot write '{}': cannot create '{}': {}", path.string(), temp_dir.string(),
         ec.message());
  cleanup::add(temp_dir);
  struct Remove {
    fs::path dir;
    ~Remove() {
      std::error_code e;
      fs::remove_all(dir, e);
      cleanup::remove(dir);
    }
  } remove_temp{temp_dir};
  write_with_itk(disk, target, g, components, temp_dir / path.filename(), true);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(temp_dir)) files.push_back(entry.path());
  for (const auto& f : files)
    if (!overwrite && fs::exists(parent / f.filename()))
      fail(ExitCode::CannotWrite, "output '{}' already exists; use --force to overwrite it",
           (parent / f.filename()).string());
  // Data files first, the header last, so a reader never sees a header without its data.
  std::stable_partition(files.begin(), files.end(), [&](const fs::path& f) { return f.filename() != path.filename(); });
  for (const auto& f : files) {
    fs::rename(f, parent / f.filename(), ec);
    if (ec) fail(ExitCode::CannotWrite, "cannot write '{}': {}", (parent / f.filename()).string(), ec.message());
  }
}

}  // namespace

void write_itk_volume(const at::Tensor& data, int64_t components, const Geometry& g, const fs::path& path,
                      const WriteOptions& options) {
  const std::string ext = lower_extension(path);
  const PixelType target =
      options.pixel_type == PixelType::Auto ? auto_pixel_type(data.scalar_type()) : options.pixel_type;
  if (options.pixel_type == PixelType::Auto && data.scalar_type() == at::kLong) {
    // int64 has no common on-disk form: int32 when the values fit (checked in convert_for_disk).
    log::debug("writing int64 volume '{}' as int32", path.string());
  }
  const at::Tensor disk = convert_for_disk(data, target, path).contiguous();

  try {
    if (ext == ".nhdr" || ext == ".mhd") {
      write_detached(disk, target, g, components, path, options.overwrite);
    } else {
      AtomicFile out(path, options.overwrite);
      write_with_itk(disk, target, g, components, out.temp_path(), ext != ".nii");
      out.commit();
    }
  } catch (const itk::ExceptionObject& e) {
    fail(ExitCode::CannotWrite, "cannot write '{}': {}", path.string(), clean_itk_message(e.GetDescription()));
  }
  log::debug("wrote '{}' as {}", path.string(), pixel_type_name(target));
}

}  // namespace voxseg::io::detail
