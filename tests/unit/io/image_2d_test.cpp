// 8-bit 2D images (PNG, BMP, TIFF): grey and RGB read as pixel-coordinate 2D volumes; label images
// written and read back unchanged; non-8-bit values refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../shared_test_support.h"
#include "voxseg/io/image_2d.h"

namespace fs = std::filesystem;
using namespace voxseg;

TEST(Image2d, GreyLabelImageRoundTripsThroughPngBmpTiff) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "voxseg-image2d");
  Volume v;
  v.geometry.dims = 2;
  v.geometry.size = {7, 5, 1};
  v.data = torch::arange(35, torch::kShort).view({1, 5, 7}) * 7;
  for (const char* ext : {".png", ".bmp", ".tif"}) {
    const fs::path path = dir / (std::string("labels") + ext);
    io::write_image_2d(v, path, false);
    const Volume back = io::read_image_2d(path);
    EXPECT_EQ(back.geometry.dims, 2) << ext;
    EXPECT_EQ(back.geometry.size, (std::array<int64_t, 3>{7, 5, 1})) << ext;
    EXPECT_TRUE(torch::equal(back.data, v.data.to(torch::kByte))) << ext;
    EXPECT_EQ(test_support::capture_error([&] { io::write_image_2d(v, path, false); }).code(), ExitCode::CannotWrite);
  }
  Volume big = v;
  big.data = big.data + 300;
  EXPECT_EQ(test_support::capture_error([&] { io::write_image_2d(big, dir / "big.png", false); }).code(),
            ExitCode::BadInput);
  EXPECT_EQ(test_support::capture_error([&] { io::read_image_2d(dir / "missing.png"); }).code(), ExitCode::BadInput);
  EXPECT_TRUE(io::is_image_2d_path("a/B.JPG"));
  EXPECT_FALSE(io::is_image_2d_path("a/b.nii.gz"));
}
