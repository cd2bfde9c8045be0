#include "voxseg/io/volume_io.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "voxseg/core/error.h"

namespace fs = std::filesystem;
using voxseg::ExitCode;
using voxseg::Geometry;
using voxseg::Volume;
using voxseg::io::PixelType;

namespace {

fs::path temp_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("voxseg-io-test-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// Anisotropic, oblique (rotation about z by 30 degrees, then a flip), negative origin.
Geometry oblique_geometry(int64_t nx, int64_t ny, int64_t nz) {
  Geometry g;
  g.size = {nx, ny, nz};
  g.spacing = {0.7, 1.3, 2.5};
  g.origin = {-120.25, 33.5, -7.75};
  const double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  g.direction = {c, -s, 0, s, c, 0, 0, 0, -1};
  return g;
}

Volume ramp(at::ScalarType type, const Geometry& g, double scale, double offset) {
  Volume v;
  v.geometry = g;
  v.data = (at::arange(g.voxel_count(), at::kDouble) * scale + offset).reshape({g.size[2], g.size[1], g.size[0]});
  v.data = v.data.to(type);
  return v;
}

void expect_geometry_near(const Geometry& a, const Geometry& b, double tol) {
  EXPECT_EQ(a.dims, b.dims);
  EXPECT_EQ(a.size, b.size);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(a.spacing[i], b.spacing[i], tol) << "spacing " << i;
    EXPECT_NEAR(a.origin[i], b.origin[i], tol) << "origin " << i;
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(a.direction[i], b.direction[i], tol) << "direction " << i;
}

int expect_error(ExitCode code, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(code)) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    return 1;
  }
  ADD_FAILURE() << "no error thrown";
  return 0;
}

std::string error_text(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const voxseg::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

struct RoundTripCase {
  const char* ext;
  at::ScalarType type;
  PixelType disk;
  double tolerance;  // geometry: NIfTI stores float32 header fields
};

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, GeometryAndValuesSurvive) {
  const auto& p = GetParam();
  const Geometry g = oblique_geometry(7, 5, 4);
  const double scale = p.disk == PixelType::UInt8 || p.disk == PixelType::Int8 ? 1.0 : 97.0;
  const double offset = p.disk == PixelType::UInt8 || p.disk == PixelType::UInt16 ? 0.0
                        : p.disk == PixelType::Int8                               ? -70.0
                                                                                  : -1000.0;
  const Volume in = ramp(p.type, g, scale, offset);
  const fs::path file = temp_dir() / (std::string("rt_") + voxseg::io::pixel_type_name(p.disk) + p.ext);
  voxseg::io::WriteOptions w;
  w.pixel_type = p.disk;
  w.overwrite = true;
  voxseg::io::write_volume(in, file, w);
  voxseg::io::VolumeFileInfo info;
  const Volume out = voxseg::io::read_volume(file.string(), {}, &info);
  EXPECT_EQ(info.stored_type, p.disk);
  expect_geometry_near(out.geometry, g, p.tolerance);
  ASSERT_EQ(out.data.sizes(), in.data.sizes());
  EXPECT_TRUE(at::equal(out.data.to(at::kDouble), in.data.to(at::kDouble)));
  if (p.disk == PixelType::UInt16) {
    EXPECT_EQ(out.data.scalar_type(), at::kInt);
  }
  if (p.disk == PixelType::Float64) {
    EXPECT_EQ(out.data.scalar_type(), at::kDouble);
  }
}

INSTANTIATE_TEST_SUITE_P(
    FormatsAndTypes, RoundTrip,
    ::testing::Values(RoundTripCase{".nii.gz", at::kByte, PixelType::UInt8, 1e-5},
                      RoundTripCase{".nii.gz", at::kChar, PixelType::Int8, 1e-5},
                      RoundTripCase{".nii.gz", at::kInt, PixelType::UInt16, 1e-5},
                      RoundTripCase{".nii", at::kShort, PixelType::Int16, 1e-5},
                      RoundTripCase{".nii.gz", at::kInt, PixelType::Int32, 1e-5},
                      RoundTripCase{".nii.gz", at::kFloat, PixelType::Float32, 1e-5},
                      RoundTripCase{".nii.gz", at::kDouble, PixelType::Float64, 1e-5},
                      RoundTripCase{".nrrd", at::kShort, PixelType::Int16, 1e-12},
                      RoundTripCase{".nrrd", at::kDouble, PixelType::Float64, 1e-12},
                      RoundTripCase{".nhdr", at::kFloat, PixelType::Float32, 1e-12},
                      RoundTripCase{".mha", at::kInt, PixelType::UInt16, 1e-12},
                      RoundTripCase{".mha", at::kByte, PixelType::UInt8, 1e-12},
                      RoundTripCase{".mhd", at::kShort, PixelType::Int16, 1e-12}),
    [](const auto& info) {
      std::string ext = info.param.ext + 1;
      for (auto& c : ext)
        if (c == '.') c = '_';
      return ext + "_" + voxseg::io::pixel_type_name(info.param.disk);
    });

TEST(ReadVolume, TwoDimensionalImageIsOneByYByX) {
  Geometry g;
  g.dims = 2;
  g.size = {6, 4, 1};
  g.spacing = {0.5, 0.25, 1.0};
  g.origin = {-3, 2, 0};
  for (const char* ext : {".nii.gz", ".nrrd", ".mha"}) {
    const Volume in = ramp(at::kShort, g, 3, -5);
    const fs::path file = temp_dir() / (std::string("two_d") + ext);
    voxseg::io::write_volume(in, file, {PixelType::Auto, true});
    const Volume out = voxseg::io::read_volume(file.string());
    EXPECT_EQ(out.geometry.dims, 2) << ext;
    EXPECT_EQ(out.data.sizes(), (std::vector<int64_t>{1, 4, 6})) << ext;
    expect_geometry_near(out.geometry, g, 1e-6);
    EXPECT_TRUE(at::equal(out.data, in.data)) << ext;
  }
}

TEST(ReadVolume, VectorImageBecomesChannelsFirst) {
  Geometry g = oblique_geometry(5, 4, 3);
  Volume in;
  in.geometry = g;
  in.data = at::arange(3 * g.voxel_count(), at::kFloat).reshape({3, g.size[2], g.size[1], g.size[0]});
  for (const char* ext : {".nii.gz", ".nrrd", ".mha"}) {
    const fs::path file = temp_dir() / (std::string("vector") + ext);
    voxseg::io::write_volume(in, file, {PixelType::Auto, true});
    const Volume out = voxseg::io::read_volume(file.string());
    ASSERT_EQ(out.data.dim(), 4) << ext;
    EXPECT_EQ(out.data.size(0), 3) << ext;
    EXPECT_TRUE(at::equal(out.data, in.data)) << ext;
  }
}

TEST(WriteVolume, IntegerTargetRejectsValuesThatDoNotFit) {
  const Geometry g = oblique_geometry(4, 3, 2);
  const Volume big = ramp(at::kFloat, g, 20.0, 0.0);  // up to 460
  const fs::path file = temp_dir() / "nofit.nii.gz";
  expect_error(ExitCode::BadInput, [&] { voxseg::io::write_volume(big, file, {PixelType::UInt8, true}); });
  EXPECT_FALSE(fs::exists(file));
  const Volume negative = ramp(at::kShort, g, 1.0, -3.0);
  expect_error(ExitCode::BadInput, [&] { voxseg::io::write_volume(negative, file, {PixelType::UInt16, true}); });
}

TEST(WriteVolume, FloatToIntegerRoundsToNearest) {
  Geometry g;
  g.size = {4, 1, 1};
  Volume v;
  v.geometry = g;
  v.data = at::tensor({-1.6f, -0.4f, 0.5f, 2.49f}).reshape({1, 1, 4});
  const fs::path file = temp_dir() / "rounded.nrrd";
  voxseg::io::write_volume(v, file, {PixelType::Int16, true});
  const Volume out = voxseg::io::read_volume(file.string());
  EXPECT_EQ(out.data.scalar_type(), at::kShort);
  EXPECT_TRUE(at::equal(out.data.to(at::kFloat), at::tensor({-2.f, -0.f, 0.f, 2.f}).reshape({1, 1, 4})))
      << out.data;  // round half to even: 0.5 -> 0
}

TEST(WriteVolume, ExistingOutputIsRefusedAndUntouched) {
  const Geometry g = oblique_geometry(3, 3, 3);
  const fs::path file = temp_dir() / "existing.nii.gz";
  { std::ofstream(file) << "keep me"; }
  expect_error(ExitCode::CannotWrite, [&] { voxseg::io::write_volume(ramp(at::kShort, g, 1, 0), file, {}); });
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
  voxseg::io::write_volume(ramp(at::kShort, g, 1, 0), file, {PixelType::Auto, true});
  EXPECT_EQ(voxseg::io::read_volume(file.string()).geometry.size, g.size);
}

TEST(WriteVolume, MissingFolderAndUnknownExtensionFail) {
  const Volume v = ramp(at::kShort, oblique_geometry(3, 3, 3), 1, 0);
  expect_error(ExitCode::CannotWrite, [&] { voxseg::io::write_volume(v, temp_dir() / "no/such/dir/x.nii.gz", {}); });
  expect_error(ExitCode::CannotWrite, [&] { voxseg::io::write_volume(v, temp_dir() / "x.png.gz", {}); });
}

TEST(WriteVolume, LeavesNoPartialFiles) {
  const Volume v = ramp(at::kShort, oblique_geometry(3, 3, 3), 1, 0);
  const fs::path dir = temp_dir() / "partials";
  fs::create_directories(dir);
  voxseg::io::write_volume(v, dir / "a.nii.gz", {PixelType::Auto, true});
  voxseg::io::write_volume(v, dir / "b.nhdr", {PixelType::Auto, true});
  voxseg::io::write_volume(v, dir / "c.mhd", {PixelType::Auto, true});
  try {
    voxseg::io::write_volume(v, dir / "d.nii.gz", {PixelType::UInt8, true});  // -> does not fit? no: 0..26
  } catch (...) {
  }
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos) << e.path();
  EXPECT_TRUE(fs::exists(dir / "b.nhdr"));
  EXPECT_TRUE(fs::exists(dir / "c.mhd"));
}

TEST(ReadVolume, BadInputsFailWithOneLineMessages) {
  const fs::path dir = temp_dir();
  expect_error(ExitCode::BadInput, [&] { voxseg::io::read_volume((dir / "missing.nii.gz").string()); });
  EXPECT_NE(error_text([&] { voxseg::io::read_volume((dir / "missing.nii.gz").string()); }).find("no such file"),
            std::string::npos);

  const fs::path empty = dir / "empty.nii.gz";
  { std::ofstream(empty).flush(); }
  expect_error(ExitCode::BadInput, [&] { voxseg::io::read_volume(empty.string()); });
  EXPECT_NE(error_text([&] { voxseg::io::read_volume(empty.string()); }).find("empty"), std::string::npos);

  const fs::path text = dir / "text.nii";
  { std::ofstream(text) << "this is not an image, just some text that is long enough to have a header\n"; }
  expect_error(ExitCode::BadInput, [&] { voxseg::io::read_volume(text.string()); });
  EXPECT_NE(error_text([&] { voxseg::io::read_volume(text.string()); }).find("not a NIfTI"), std::string::npos);

  // Truncated .nii.gz: a real file cut in half.
  const Volume v = ramp(at::kFloat, oblique_geometry(32, 32, 16), 0.37, 1);
  const fs::path whole = dir / "whole.nii.gz";
  voxseg::io::write_volume(v, whole, {PixelType::Auto, true});
  const fs::path cut = dir / "cut.nii.gz";
  {
    std::ifstream in(whole, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_error(ExitCode::BadInput, [&] { voxseg::io::read_volume(cut.string()); });
  EXPECT_NE(error_text([&] { voxseg::io::read_volume(cut.string()); }).find("truncated"), std::string::npos)
      << error_text([&] { voxseg::io::read_volume(cut.string()); });

  // Truncated NRRD (gzip encoding) and MetaImage (MetaIO only complains on stderr): errors, not garbage.
  for (const char* ext : {".nrrd", ".mha"}) {
    const fs::path full = dir / (std::string("whole") + ext), part = dir / (std::string("cut") + ext);
    voxseg::io::write_volume(v, full, {PixelType::Auto, true});
    std::ifstream in(full, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(part, std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
    expect_error(ExitCode::BadInput, [&] { voxseg::io::read_volume(part.string()); });
  }
}

TEST(PixelTypes, NamesRoundTripAndUnknownIsUsageError) {
  for (PixelType t : {PixelType::UInt8, PixelType::Int8, PixelType::UInt16, PixelType::Int16, PixelType::Int32,
                      PixelType::Float32, PixelType::Float64})
    EXPECT_EQ(voxseg::io::parse_pixel_type(voxseg::io::pixel_type_name(t)), t);
  expect_error(ExitCode::Usage, [] { voxseg::io::parse_pixel_type("uint64"); });
}
