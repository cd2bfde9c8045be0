#include "voxseg/io/volume_io.h"

#include <ATen/ATen.h>
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>
#include <itkObject.h>
#include <itkOutputWindow.h>
#ifdef ITK_IO_FACTORY_REGISTER_MANAGER
#include <itkImageIOFactoryRegisterManager.h>  // registers the IO factories ITK_USE_FILE lists
#endif

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include <unistd.h>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/stderr_capture.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/detail/dicom_seg_source.h"
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
// Shared helpers (detail)
// ---------------------------------------------------------------------------------------------
namespace detail {
namespace {
// ITK's text output goes to voxseg's debug log instead of stderr.
class LogOutputWindow : public itk::OutputWindow {
 public:
  using Self = LogOutputWindow;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  void DisplayText(const char* text) override { log::debug("ITK: {}", clean_itk_message(text ? text : "")); }
};
}  // namespace

void quiet_toolkits_gdcm();  // dicom_series.cpp

void quiet_toolkits() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::OutputWindow::SetInstance(LogOutputWindow::New());
    if (!log::enabled(log::Level::Debug)) itk::Object::GlobalWarningDisplayOff();
    quiet_toolkits_gdcm();
  });
}

std::string lower_extension(const fs::path& path) {
  std::string ext = full_extension(path);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  // full_extension knows ".nii.gz" only in lower case.
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.size() > 7 && name.compare(name.size() - 7, 7, ".nii.gz") == 0) return ".nii.gz";
  return ext;
}

std::string clean_itk_message(const std::string& text) {
  // ITK descriptions look like "/path/itkFoo.cxx:123:\nITK ERROR: NiftiImageIO(0x..): what"; teem (NRRD)
  // appends its call stack, innermost last: "[nrrd] _nrrdEncodingGzip_read: expected N bytes ...".
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.empty()) continue;
    if ((line.find(".cxx:") != std::string::npos || line.find(".hxx:") != std::string::npos ||
         line.find(".h:") != std::string::npos) &&
        line.back() == ':')
      continue;  // only a source location
    for (const char* prefix : {"ITK ERROR: ", "ITK WARNING: ", "WARNING: ", "ERROR: "}) {
      const size_t at = line.find(prefix);
      if (at != std::string::npos) line = line.substr(at + std::strlen(prefix));
    }
    const size_t paren = line.find("(0x");  // "NiftiImageIO(0x55d...): message" -> "message"
    if (paren != std::string::npos) {
      const size_t close = line.find("): ", paren);
      if (close != std::string::npos) line = line.substr(close + 3);
    }
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) return "unknown ITK error";
  if (lines.front().back() == ':' && lines.size() > 1) {
    std::string inner = lines.back();
    if (inner.rfind("[", 0) == 0) {  // "[nrrd] func: what" -> "what"
      const size_t colon = inner.find(": ");
      if (colon != std::string::npos) inner = inner.substr(colon + 2);
    }
    return inner;
  }
  return lines.front();
}

void check_readable_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ExitCode::BadInput, "cannot read '{}': no such file or folder", path.string());
  if (fs::is_directory(path, ec))
    fail(ExitCode::BadInput, "cannot read '{}': it is a folder, not a volume file", path.string());
  if (fs::file_size(path, ec) == 0 && !ec) fail(ExitCode::BadInput, "cannot read '{}': file is empty", path.string());
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Reading through ITK's ImageIO (NIfTI, NRRD, MetaImage, and any other format ITK knows)
// ---------------------------------------------------------------------------------------------
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
  const std::string ext = detail::lower_extension(path);
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(file.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!io)
    fail(ExitCode::BadInput, "cannot read '{}': not a readable image (supported: NIfTI, NRRD, MetaImage, DICOM)",
         file);
  io->SetFileName(file);
  io->ReadImageInformation();

  unsigned n = io->GetNumberOfDimensions();
  std::vector<int64_t> dims(n);
  for (unsigned i = 0; i < n; ++i) dims[i] = static_cast<int64_t>(io->GetDimensions(i));
  while (n > 3 && dims[n - 1] == 1) --n;  // trailing singleton axes (e.g. a 4D header with one volume)
  if (n > 3) {
    std::string shape;
    for (size_t i = 0; i < dims.size(); ++i) shape += (i ? "x" : "") + std::to_string(dims[i]);
    fail(ExitCode::BadInput,
         "cannot read '{}': {}D image ({}); voxseg reads 3D volumes: split it into 3D files first", file, n, shape);
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
  const std::string ext = detail::lower_extension(path);
  if (ext.size() > 3 && ext.compare(ext.size() - 3, 3, ".gz") == 0) {
    const std::string gz = detail::gzip_problem(path);
    if (!gz.empty()) return gz;
  }
  return detail::clean_itk_message(itk_text);
}

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------
namespace {

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
        fail(ExitCode::BadInput, "cannot write '{}' as {}: values {}..{} do not fit its range {}..{}",
             path.string(), pixel_type_name(target), lo, hi, range.lo, range.hi);
    }
    if (target == PixelType::UInt16) return values.to(at::kInt);  // narrowed to uint16 by the caller
    const at::ScalarType t = target == PixelType::UInt8  ? at::kByte
                             : target == PixelType::Int8 ? at::kChar
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
    fail(ExitCode::CannotWrite, "cannot write '{}': {}", path.string(), detail::clean_itk_message(e.GetDescription()));
  }
  log::debug("wrote '{}' as {}", path.string(), pixel_type_name(target));
}

}  // namespace voxseg::io
