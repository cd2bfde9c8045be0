#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "voxseg/core/error.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/volume_io.h"

namespace fs = std::filesystem;
using voxseg::ExitCode;
using voxseg::Geometry;
using voxseg::Volume;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("voxseg-dicom-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d.parent_path());
  return d;
}

// Right-handed oblique grid: rotation about x by 20 degrees, anisotropic, negative origin.
Geometry oblique(int64_t nx, int64_t ny, int64_t nz) {
  Geometry g;
  g.size = {nx, ny, nz};
  g.spacing = {0.75, 0.6, 3.5};
  g.origin = {-101.5, -20.25, 48.125};
  const double c = std::cos(20 * M_PI / 180), s = std::sin(20 * M_PI / 180);
  g.direction = {1, 0, 0, 0, c, -s, 0, s, c};
  return g;
}

Volume ct_like(const Geometry& g, int64_t seed = 0) {
  Volume v;
  v.geometry = g;
  v.data = ((at::arange(g.voxel_count(), at::kLong) * 37 + seed) % 3000 - 1024).reshape({g.size[2], g.size[1], g.size[0]});
  v.data = v.data.to(at::kShort);
  return v;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string error_of(const std::function<void()>& fn, ExitCode* code = nullptr) {
  try {
    fn();
  } catch (const voxseg::Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

void set_position(const fs::path& file, double x, double y, double z) {
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(file.string().c_str()).good());
  const std::string v = std::to_string(x) + "\\" + std::to_string(y) + "\\" + std::to_string(z);
  ff.getDataset()->putAndInsertString(DCM_ImagePositionPatient, v.c_str());
  ASSERT_TRUE(ff.saveFile(file.string().c_str(), EXS_LittleEndianExplicit).good());
}

}  // namespace

TEST(DicomSeries, WriteThenReadGivesTheSameVolume) {
  const Volume in = ct_like(oblique(9, 7, 5));
  const fs::path dir = fresh_dir("roundtrip");
  voxseg::io::write_dicom_series(in, dir, {});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 5);
  voxseg::io::VolumeFileInfo info;
  const Volume out = voxseg::io::read_volume(dir.string(), {}, &info);
  EXPECT_EQ(info.format, "DICOM");
  EXPECT_EQ(info.metadata.find("modality")->as_string(), "CT");
  EXPECT_TRUE(voxseg::same_geometry(out.geometry, in.geometry, 1e-6))
      << voxseg::describe_geometry_difference(out.geometry, in.geometry, 1e-6);
  EXPECT_EQ(out.data.scalar_type(), at::kShort);
  EXPECT_TRUE(at::equal(out.data, in.data));
}

TEST(DicomSeries, ValuesBeyondInt16UseTheInterceptLosslessly) {
  Volume in = ct_like(oblique(6, 5, 3));
  in.data = in.data.to(at::kInt) + 40000;  // 38976 .. 41975: integers, range < 65536
  const fs::path dir = fresh_dir("intercept");
  voxseg::io::write_dicom_series(in, dir, {});
  const Volume out = voxseg::io::read_volume(dir.string());
  EXPECT_TRUE(at::equal(out.data.to(at::kInt), in.data));
}

TEST(DicomSeries, FloatValuesAreScaledWithinHalfAStep) {
  Volume in = ct_like(oblique(6, 5, 3));
  in.data = in.data.to(at::kFloat) * 0.0137f;
  const fs::path dir = fresh_dir("float");
  voxseg::io::write_dicom_series(in, dir, {});
  const Volume out = voxseg::io::read_volume(dir.string());
  const double range = (in.data.max() - in.data.min()).item<double>();
  EXPECT_LE((out.data.to(at::kDouble) - in.data.to(at::kDouble)).abs().max().item<double>(), range / 65535.0);
}

TEST(DicomSeries, LeftHandedGridIsWrittenWithSlicesReversed) {
  Geometry g = oblique(5, 4, 6);
  for (int r = 0; r < 3; ++r) g.direction[r * 3 + 2] *= -1;  // z = -(x cross y)
  const Volume in = ct_like(g);
  const fs::path dir = fresh_dir("lefthanded");
  voxseg::io::write_dicom_series(in, dir, {});
  const Volume out = voxseg::io::read_volume(dir.string());
  EXPECT_TRUE(at::equal(out.data, in.data.flip({0})));
  const auto last = g.index_to_physical({0, 0, 5});
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(out.geometry.origin[i], last[i], 1e-6);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(out.geometry.direction[r * 3 + 2], -g.direction[r * 3 + 2], 1e-6);
}

TEST(DicomSeries, SameInputGivesByteIdenticalFilesAndSeedChangesUids) {
  const Volume in = ct_like(oblique(6, 5, 3));
  const fs::path a = fresh_dir("same_a"), b = fresh_dir("same_b"), c = fresh_dir("same_c");
  voxseg::io::write_dicom_series(in, a, {});
  voxseg::io::write_dicom_series(in, b, {});
  for (const char* f : {"IMG0001.dcm", "IMG0002.dcm", "IMG0003.dcm"})
    EXPECT_EQ(read_bytes(a / f), read_bytes(b / f)) << f;
  voxseg::io::DicomWriteOptions seeded;
  seeded.uid_seed = "another study";
  voxseg::io::write_dicom_series(in, c, seeded);
  const auto sa = voxseg::io::list_dicom_series(a), sc = voxseg::io::list_dicom_series(c);
  ASSERT_EQ(sa.size(), 1u);
  ASSERT_EQ(sc.size(), 1u);
  EXPECT_NE(sa[0].series_uid, sc[0].series_uid);
  EXPECT_EQ(sa[0].series_uid.rfind("2.25.", 0), 0u);
  EXPECT_LE(sa[0].series_uid.size(), 64u);
}

TEST(DicomSeries, ExistingOutputNeedsOverwriteAndForeignFilesAreNeverDeleted) {
  const Volume in = ct_like(oblique(4, 4, 2));
  const fs::path dir = fresh_dir("existing");
  voxseg::io::write_dicom_series(in, dir, {});
  ExitCode code{};
  EXPECT_NE(error_of([&] { voxseg::io::write_dicom_series(in, dir, {}); }, &code).find("--force"), std::string::npos);
  EXPECT_EQ(code, ExitCode::CannotWrite);
  voxseg::io::DicomWriteOptions force;
  force.overwrite = true;
  voxseg::io::write_dicom_series(ct_like(oblique(4, 4, 3)), dir, force);
  EXPECT_EQ(voxseg::io::read_volume(dir.string()).geometry.size[2], 3);
  { std::ofstream(dir / "notes.txt") << "mine"; }
  EXPECT_FALSE(error_of([&] { voxseg::io::write_dicom_series(in, dir, force); }).empty());
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  for (const auto& e : fs::directory_iterator(dir.parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos);
}

TEST(DicomSeries, MissingSliceIsRejected) {
  const fs::path dir = fresh_dir("gap");
  voxseg::io::write_dicom_series(ct_like(oblique(4, 4, 6)), dir, {});
  fs::remove(dir / "IMG0003.dcm");
  ExitCode code{};
  const std::string e = error_of([&] { voxseg::io::read_volume(dir.string()); }, &code);
  EXPECT_EQ(code, ExitCode::BadInput);
  EXPECT_NE(e.find("missing slice"), std::string::npos) << e;
}

TEST(DicomSeries, NonUniformSpacingBeyondToleranceIsRejectedButSmallJitterIsRead) {
  const Geometry g = oblique(4, 4, 5);
  const fs::path dir = fresh_dir("nonuniform");
  voxseg::io::write_dicom_series(ct_like(g), dir, {});
  // Move slice 3 by 0.8 mm (23% of 3.5 mm) along the normal.
  auto p = g.index_to_physical({0, 0, 2});
  const double nz[3] = {g.direction[2], g.direction[5], g.direction[8]};
  set_position(dir / "IMG0003.dcm", p[0] + 0.8 * nz[0], p[1] + 0.8 * nz[1], p[2] + 0.8 * nz[2]);
  const std::string e = error_of([&] { voxseg::io::read_volume(dir.string()); });
  EXPECT_NE(e.find("non-uniform slice spacing"), std::string::npos) << e;
  // 0.07 mm (2%) is within the 5% tolerance; a looser tolerance accepts 23% too.
  set_position(dir / "IMG0003.dcm", p[0] + 0.07 * nz[0], p[1] + 0.07 * nz[1], p[2] + 0.07 * nz[2]);
  EXPECT_EQ(voxseg::io::read_volume(dir.string()).geometry.size[2], 5);
  set_position(dir / "IMG0003.dcm", p[0] + 0.8 * nz[0], p[1] + 0.8 * nz[1], p[2] + 0.8 * nz[2]);
  voxseg::io::ReadOptions loose;
  loose.slice_spacing_tolerance = 0.3;
  EXPECT_EQ(voxseg::io::read_volume(dir.string(), loose).geometry.size[2], 5);
}

TEST(DicomSeries, TwoSeriesInOneFolderReadTheLargestOrTheChosenOne) {
  const fs::path a = fresh_dir("two_a"), b = fresh_dir("two_b"), both = fresh_dir("two_both");
  voxseg::io::write_dicom_series(ct_like(oblique(4, 4, 5), 1), a, {});
  voxseg::io::write_dicom_series(ct_like(oblique(4, 4, 2), 2), b, {});
  fs::create_directories(both);
  for (const auto& e : fs::directory_iterator(a)) fs::copy_file(e.path(), both / ("a_" + e.path().filename().string()));
  for (const auto& e : fs::directory_iterator(b)) fs::copy_file(e.path(), both / ("b_" + e.path().filename().string()));
  const auto series = voxseg::io::list_dicom_series(both);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].slices, 5);
  EXPECT_EQ(series[1].slices, 2);
  EXPECT_EQ(voxseg::io::read_volume(both.string()).geometry.size[2], 5);
  voxseg::io::ReadOptions pick;
  pick.series_uid = series[1].series_uid;
  EXPECT_EQ(voxseg::io::read_volume(both.string(), pick).geometry.size[2], 2);
  pick.series_uid = "1.2.3.4";
  EXPECT_NE(error_of([&] { voxseg::io::read_volume(both.string(), pick); }).find("no series 1.2.3.4"),
            std::string::npos);
}

TEST(DicomSeries, FolderWithoutDicomIsBadInput) {
  const fs::path dir = fresh_dir("nodicom");
  fs::create_directories(dir);
  { std::ofstream(dir / "readme.txt") << "nothing here"; }
  ExitCode code{};
  const std::string e = error_of([&] { voxseg::io::read_volume(dir.string()); }, &code);
  EXPECT_EQ(code, ExitCode::BadInput);
  EXPECT_NE(e.find("no DICOM"), std::string::npos) << e;
  EXPECT_FALSE(voxseg::io::is_dicom_directory(dir));
}
