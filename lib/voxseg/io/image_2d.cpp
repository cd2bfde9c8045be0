#include "voxseg/io/image_2d.h"

#include <ATen/ATen.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>
#include <itkImageIOFactoryRegisterManager.h>  // registers the IO factories ITK_USE_FILE lists

#include <algorithm>
#include <cstring>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/io/detail/io_common.h"

namespace voxseg::io {
namespace {
bool torch_equal_channels(const at::Tensor& hwc) {
  return at::equal(hwc.select(2, 0), hwc.select(2, 1)) && at::equal(hwc.select(2, 0), hwc.select(2, 2));
}
}  // namespace

bool is_image_2d_path(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".tif" || ext == ".tiff" || ext == ".bmp";
}

Volume read_image_2d(const std::filesystem::path& path) {
  detail::quiet_toolkits();
  const std::string file = path.string();
  if (!std::filesystem::is_regular_file(path)) fail(ExitCode::BadInput, "cannot read '{}': no such file", file);
  try {
    itk::ImageIOBase::Pointer io =
        itk::ImageIOFactory::CreateImageIO(file.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    if (!io) fail(ExitCode::BadInput, "cannot read '{}': not a readable image (PNG, JPEG, TIFF, BMP)", file);
    io->SetFileName(file);
    io->ReadImageInformation();
    unsigned n = io->GetNumberOfDimensions();
    while (n > 2 && io->GetDimensions(n - 1) == 1) --n;
    if (n != 2) fail(ExitCode::BadInput, "cannot read '{}': {}D image; expected a 2D image", file, n);
    if (io->GetComponentType() != itk::IOComponentEnum::UCHAR)
      fail(ExitCode::BadInput, "cannot read '{}': {} samples; expected 8-bit grey or RGB", file,
           itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType()));
    const int64_t components = int64_t(io->GetNumberOfComponents());
    if (components != 1 && components != 3 && components != 4)
      fail(ExitCode::BadInput, "cannot read '{}': {} channels; expected grey, RGB or RGBA", file, components);
    const int64_t w = int64_t(io->GetDimensions(0)), h = int64_t(io->GetDimensions(1));
    at::Tensor interleaved = at::empty({h, w, components}, at::kByte);
    io->Read(interleaved.data_ptr());
    Volume v;
    v.geometry.dims = 2;
    v.geometry.size = {w, h, 1};
    // Grey images some readers expand to RGB (BMP palettes) come back grey.
    const bool grey = components == 1 || torch_equal_channels(interleaved);
    if (grey) {
      v.data = interleaved.slice(2, 0, 1).permute({2, 0, 1}).contiguous();  // [1,Y,X]
    } else {
      v.data = interleaved.slice(2, 0, 3).permute({2, 0, 1}).unsqueeze(1).contiguous();  // [3,1,Y,X]
    }
    return v;
  } catch (const itk::ExceptionObject& e) {
    fail(ExitCode::BadInput, "cannot read '{}': {}", file, detail::clean_itk_message(e.GetDescription()));
  }
}

void write_image_2d(const Volume& volume, const std::filesystem::path& path, bool overwrite) {
  detail::quiet_toolkits();
  const at::Tensor data = volume.data.cpu();
  if (data.dim() != 3 || data.size(0) != 1)
    fail(ExitCode::CannotWrite, "cannot write '{}': a 2D image needs a single-slice volume", path.string());
  if (data.numel() && (data.min().item<double>() < 0 || data.max().item<double>() > 255))
    fail(ExitCode::BadInput, "cannot write '{}': values outside 0..255 do not fit an 8-bit image", path.string());
  const at::Tensor bytes = data.to(at::kByte).contiguous();
  using Image = itk::Image<unsigned char, 2>;
  auto image = Image::New();
  Image::RegionType region;
  region.SetSize({{size_t(bytes.size(2)), size_t(bytes.size(1))}});
  image->SetRegions(region);
  image->Allocate();
  std::memcpy(image->GetBufferPointer(), bytes.data_ptr<uint8_t>(), size_t(bytes.numel()));
  AtomicFile out(path, overwrite);
  try {
    auto writer = itk::ImageFileWriter<Image>::New();
    writer->SetFileName(out.temp_path().string());
    writer->SetInput(image);
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    fail(ExitCode::CannotWrite, "cannot write '{}': {}", path.string(), detail::clean_itk_message(e.GetDescription()));
  }
  out.commit();
}

}  // namespace voxseg::io
