// Reading volume files through ITK's ImageIO (NIfTI, NRRD, MetaImage, and any other format ITK
// knows): geometry, on-disk component types to tensor dtypes, and ITK's failures as one-line errors.
#include <ATen/ATen.h>
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>
#ifdef ITK_IO_FACTORY_REGISTER_MANAGER
#include <itkImageIOFactoryRegisterManager.h>  // registers ITK_USE_FILE's IO factories, once per process
// (only here: volume_io.cpp links this file whenever it links the writer)
#endif

#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/stderr_capture.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/detail/itk_volume.h"

namespace fs = std::filesystem;

namespace voxseg::io::detail {
namespace {

using itk::IOComponentEnum;

std::string format_name(const std::string& ext, const std::string& io_name) {
  if (ext == ".nii" || ext == ".nii.gz" || ext == ".hdr" || ext == ".img") return "NIfTI";
  if (ext == ".nrrd" || ext == ".nhdr") return "NRRD";
  if (ext == ".mha" || ext == ".mhd") return "MetaImage";
  std::string name = io_name;
  const size_t pos = name.find("ImageIO");
  if (pos != std::string::npos) name = name.substr(0, pos);
  return name;
}

// Tensor type used in memory for an on-disk component type (uint16 -> int32, uint32 -> int64).
at::ScalarType tensor_type_for(IOComponentEnum c, const std::string& path) {
  switch (c) {
    case IOComponentEnum::UCHAR: return at::kByte;
    case IOComponentEnum::CHAR: return at::kChar;
    case IOComponentEnum::SHORT: return at::kShort;
    case IOComponentEnum::USHORT: return at::kInt;
    case IOComponentEnum::INT: return at::kInt;
    case IOComponentEnum::UINT: return at::kLong;
    case IOComponentEnum::LONG:
    case IOComponentEnum::LONGLONG:
    case IOComponentEnum::ULONG:
    case IOComponentEnum::ULONGLONG: return at::kLong;
    case IOComponentEnum::FLOAT: return at::kFloat;
    case IOComponentEnum::DOUBLE: return at::kDouble;
    default:
      fail(ExitCode::BadInput, "cannot read '{}': unsupported pixel component type '{}'", path,
           itk::ImageIOBase::GetComponentTypeAsString(c));
  }
}

PixelType stored_type_for(IOComponentEnum c) {
  switch (c) {
    case IOComponentEnum::UCHAR: return PixelType::UInt8;
    case IOComponentEnum::CHAR: return PixelType::Int8;
    case IOComponentEnum::USHORT: return PixelType::UInt16;
    case IOComponentEnum::SHORT: return PixelType::Int16;
    case IOComponentEnum::INT: return PixelType::Int32;
    case IOComponentEnum::FLOAT: return PixelType::Float32;
    case IOComponentEnum::DOUBLE: return PixelType::Float64;
    default: return PixelType::Auto;
  }
}

template <typename Src>
at::Tensor widen(const std::vector<Src>& buffer, at::ScalarType type, at::IntArrayRef shape) {
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(type));
  if (type == at::kInt) {
    auto* dst = out.data_ptr<int32_t>();
    for (size_t i = 0; i < buffer.size(); ++i) dst[i] = static_cast<int32_t>(buffer[i]);
  } else {
    auto* dst = out.data_ptr<int64_t>();
    for (size_t i = 0; i < buffer.size(); ++i) dst[i] = static_cast<int64_t>(buffer[i]);
  }
  return out;
}

// Some ITK readers (MetaIO) report problems only on stderr and return normally: capture what they
// print while reading (core/stderr_capture.h), log it at debug level, and turn known complaints into errors.
void check_captured(const fs::path& path, StderrCapture& capture) {
  const std::string text = capture.text();
  if (text.empty()) return;
  log::debug("while reading '{}': {}", path.string(), text.substr(0, 2000));
  if (text.find("not read completely") != std::string::npos)
    fail(ExitCode::BadInput, "cannot read '{}': truncated data (fewer voxels in the file than the header says)",
         path.string());
  if (text.find("Uncompress failed") != std::string::npos || text.find("inflate") != std::string::npos)
    fail(ExitCode::BadInput, "cannot read '{}': corrupt compressed data", path.string());
}

Volume read_with_itk(const fs::path& path, VolumeFileInfo* info) {
  const std::string file = path.string();
  const std::string ext = lower_extension(path);
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(file.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!io)
    fail(ExitCode::BadInput, "cannot read '{}': not a readable image (supported: NIfTI, NRRD, MetaImage, DICOM)", file);
  io->SetFileName(file);
  io->ReadImageInformation();

  unsigned n = io->GetNumberOfDimensions();
  std::vector<int64_t> dims(n);
  for (unsigned i = 0; i < n; ++i) dims[i] = static_cast<int64_t>(io->GetDimensions(i));
  while (n > 3 && dims[n - 1] == 1) --n;  // trailing singleton axes (e.g. a 4D header with one volume)
  if (n > 3) {
    std::string shape;
    for (size_t i = 0; i < dims.size(); ++i) shape += (i ? "x" : "") + std::to_string(dims[i]);
    fail(ExitCode::BadInput, "cannot read '{}': {}D image ({}); voxseg reads 3D volumes: split it into 3D files first",
         file, n, shape);
  }
  if (n < 2) fail(ExitCode::BadInput, "cannot read '{}': {}D image; voxseg reads 2D and 3D images", file, n);

  const auto pixel = io->GetPixelType();
  if (pixel == itk::IOPixelEnum::COMPLEX)
    fail(ExitCode::BadInput, "cannot read '{}': complex-valued images are not supported", file);
  const int64_t components = static_cast<int64_t>(io->GetNumberOfComponents());
  const IOComponentEnum component = io->GetComponentType();
  const at::ScalarType type = tensor_type_for(component, file);

  Volume volume;
  Geometry& g = volume.geometry;
  g.dims = static_cast<int>(n);
  for (unsigned i = 0; i < n; ++i) {
    g.size[i] = dims[i];
    g.spacing[i] = io->GetSpacing(i);
    g.origin[i] = io->GetOrigin(i);
    const std::vector<double> axis = io->GetDirection(i);
    for (unsigned r = 0; r < 3; ++r) g.direction[r * 3 + i] = r < axis.size() ? axis[r] : (r == i ? 1.0 : 0.0);
  }
  if (n == 2) {
    g.size[2] = 1;
    g.spacing[2] = 1.0;
    g.origin[2] = 0.0;
    for (int r = 0; r < 3; ++r) g.direction[r * 3 + 2] = r == 2 ? 1.0 : 0.0;
    g.direction[6] = g.direction[7] = 0.0;  // the 2D axes lie in the x-y plane
  }
  for (int i = 0; i < 3; ++i)
    if (!(g.spacing[i] > 0) || !std::isfinite(g.spacing[i]))
      fail(ExitCode::BadInput, "cannot read '{}': invalid spacing {} along axis {}", file, g.spacing[i], i);

  itk::ImageIORegion region(n);
  for (unsigned i = 0; i < n; ++i) {
    region.SetIndex(i, 0);
    region.SetSize(i, static_cast<itk::SizeValueType>(dims[i]));
  }
  // Read the full extent even when trailing singleton axes were dropped above.
  if (io->GetNumberOfDimensions() != n) {
    itk::ImageIORegion full(io->GetNumberOfDimensions());
    for (unsigned i = 0; i < io->GetNumberOfDimensions(); ++i) {
      full.SetIndex(i, 0);
      full.SetSize(i, static_cast<itk::SizeValueType>(dims[i]));
    }
    region = full;
  }
  io->SetIORegion(region);

  std::vector<int64_t> shape{g.size[2], g.size[1], g.size[0]};
  if (components > 1) shape.push_back(components);
  at::Tensor data;
  if (component == IOComponentEnum::USHORT) {
    std::vector<uint16_t> buffer(static_cast<size_t>(g.voxel_count() * components));
    StderrCapture capture;
    io->Read(buffer.data());
    check_captured(path, capture);
    data = widen(buffer, type, shape);
  } else if (component == IOComponentEnum::UINT) {
    std::vector<uint32_t> buffer(static_cast<size_t>(g.voxel_count() * components));
    io->Read(buffer.data());
    data = widen(buffer, type, shape);
  } else if (component == IOComponentEnum::ULONG || component == IOComponentEnum::ULONGLONG) {
    std::vector<uint64_t> buffer(static_cast<size_t>(g.voxel_count() * components));
    io->Read(buffer.data());
    for (uint64_t v : buffer)
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(ExitCode::BadInput, "cannot read '{}': uint64 values beyond the int64 range", file);
    data = widen(buffer, type, shape);
  } else {
    data = at::empty(shape, at::TensorOptions().dtype(type));
    StderrCapture capture;
    io->Read(data.data_ptr());
    check_captured(path, capture);
  }
  if (components > 1) data = data.permute({3, 0, 1, 2}).contiguous();  // [Z,Y,X,C] -> [C,Z,Y,X]
  volume.data = data;

  if (info) {
    info->format = format_name(ext, io->GetNameOfClass());
    info->stored_type = stored_type_for(component);
    info->metadata = Json::object();
    if (components > 1) info->metadata["components"] = components;
  }
  return volume;
}

std::string describe_read_failure(const fs::path& path, const std::string& itk_text) {
  const std::string ext = lower_extension(path);
  if (ext.size() > 3 && ext.compare(ext.size() - 3, 3, ".gz") == 0) {
    const std::string gz = gzip_problem(path);
    if (!gz.empty()) return gz;
  }
  return clean_itk_message(itk_text);
}

}  // namespace

Volume read_itk_volume(const fs::path& path, const NiftiHeaderFacts& nifti, VolumeFileInfo* info) {
  const std::string path_text = path.string();
  try {
    Volume v = read_with_itk(path, info);
    if (nifti.stored != PixelType::Auto) {
      if (info) info->stored_type = nifti.stored;
      // ITK returns float for integer voxels with scl_slope/scl_inter; keep integers when exact.
      const bool integer_on_disk = nifti.stored != PixelType::Float32 && nifti.stored != PixelType::Float64;
      if (nifti.rescaled && integer_on_disk && at::isFloatingType(v.data.scalar_type()) && v.data.numel() > 0 &&
          at::equal(v.data, v.data.round())) {
        const auto range = at::aminmax(v.data);
        const double lo = std::get<0>(range).item<double>(), hi = std::get<1>(range).item<double>();
        if (lo >= -32768 && hi <= 32767) v.data = v.data.to(at::kShort);
        else if (lo >= -2147483648.0 && hi <= 2147483647.0) v.data = v.data.to(at::kInt);
      }
      if (info && nifti.rescaled) info->metadata["rescaled"] = true;
    }
    log::debug("read '{}': {}x{}x{} {}", path_text, v.geometry.size[0], v.geometry.size[1], v.geometry.size[2],
               dtype_name(v.data.scalar_type()));
    return v;
  } catch (const itk::ExceptionObject& e) {
    log::debug("ITK: {}", e.GetDescription());
    fail(ExitCode::BadInput, "cannot read '{}': {}", path_text, describe_read_failure(path, e.GetDescription()));
  } catch (const std::bad_alloc&) {
    fail(ExitCode::BadInput, "cannot read '{}': header asks for more memory than available (corrupt?)", path_text);
  }
}

}  // namespace voxseg::io::detail
