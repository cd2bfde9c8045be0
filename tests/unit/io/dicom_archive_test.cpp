// DICOM series as archives send them: blanked UIDs, localizers in the series, gaps, gantry tilt.
// Fixtures are series written by write_dicom_series and then edited with DCMTK.
#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

#include "../shared_test_support.h"
#include "voxseg/core/error.h"
#include "voxseg/io/detail/dicom_slice.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/volume_io.h"

namespace fs = std::filesystem;
using voxseg::ExitCode;
using voxseg::Geometry;
using voxseg::Volume;
using voxseg::test_support::capture_error;

namespace {

// A new scratch folder per test; the series folder inside it does not exist yet (write_dicom_series makes it).
fs::path fresh_dir(const std::string& name) {
  return voxseg::test_support::fresh_dir(fs::temp_directory_path(), "voxseg-archive-test-" + name) / "series";
}

// Axial grid, identity direction: IMG000k+1 lies at z = 2k.
Volume axial(int64_t nx, int64_t ny, int64_t nz, const std::function<int(int64_t, int64_t, int64_t)>& value) {
  Volume v;
  v.geometry.size = {nx, ny, nz};
  v.geometry.spacing = {1.0, 1.0, 2.0};
  v.data = at::empty({nz, ny, nx}, at::kShort);
  auto a = v.data.accessor<int16_t, 3>();
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) a[k][j][i] = static_cast<int16_t>(value(i, j, k));
  return v;
}

// Edits one file in place (test fixture only); an empty value writes an empty element, nullptr deletes it.
void edit(const fs::path& file, const DcmTagKey& tag, const char* value) {
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(file.string().c_str()).good());
  if (value)
    ff.getDataset()->putAndInsertString(tag, value);
  else
    ff.getDataset()->findAndDeleteElement(tag);
  ASSERT_TRUE(ff.saveFile(file.string().c_str(), EXS_LittleEndianExplicit).good());
}

fs::path slice_file(const fs::path& dir, int k) {
  char name[32];
  std::snprintf(name, sizeof name, "IMG%04d.dcm", k);
  return dir / name;
}

}  // namespace

TEST(DicomArchive, BlankedOrMissingSeriesUidsAreGroupedAndRead) {
  const fs::path dir = fresh_dir("blank");
  voxseg::io::write_dicom_series(axial(4, 4, 5, [](auto i, auto j, auto k) { return int(i + 4 * j + 16 * k); }), dir,
                                 {});
  for (int k = 1; k <= 5; ++k) {
    // Half blanked (empty element), half without the element, as different anonymizers do it.
    edit(slice_file(dir, k), DCM_SeriesInstanceUID, k % 2 ? "" : nullptr);
    edit(slice_file(dir, k), DCM_StudyInstanceUID, "");
    edit(slice_file(dir, k), DCM_SOPInstanceUID, "");
  }
  voxseg::io::VolumeFileInfo info;
  const Volume v = voxseg::io::read_volume(dir.string(), {}, &info);
  EXPECT_EQ(v.geometry.size[2], 5);
  EXPECT_EQ(v.data[4][3][2].item<int>(), 2 + 12 + 64);
  EXPECT_EQ(info.metadata.find("series_uid")->as_string(), "no-uid-1");
  EXPECT_TRUE(info.metadata.find("series_uid_missing")->as_bool());
  const auto series = voxseg::io::list_dicom_series(dir);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].slices, 5);

  // Another series without UIDs (a different SeriesNumber) in the same folder is a second group.
  for (int k = 1; k <= 2; ++k) {
    const fs::path copy = dir / ("b" + slice_file(dir, k).filename().string());
    fs::copy_file(slice_file(dir, k), copy);
    edit(copy, DCM_SeriesNumber, "7");
  }
  const auto two = voxseg::io::list_dicom_series(dir);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].slices, 5);
  EXPECT_EQ(two[1].slices, 2);
  EXPECT_EQ(voxseg::io::read_volume(dir.string()).geometry.size[2], 5);
  voxseg::io::ReadOptions pick;
  pick.series_uid = two[1].series_uid;
  EXPECT_EQ(voxseg::io::read_volume(dir.string(), pick).geometry.size[2], 2);
}

TEST(DicomArchive, LocalizerInTheSeriesIsDroppedAndReported) {
  const fs::path dir = fresh_dir("localizer");
  voxseg::io::write_dicom_series(axial(4, 4, 5, [](auto i, auto, auto k) { return int(i + 10 * k); }), dir, {});
  const fs::path scout = dir / "IMG0000.dcm";
  fs::copy_file(slice_file(dir, 3), scout);
  edit(scout, DCM_ImageType, "ORIGINAL\\PRIMARY\\LOCALIZER");
  edit(scout, DCM_ImageOrientationPatient, "1\\0\\0\\0\\0\\-1");
  voxseg::io::VolumeFileInfo info;
  const Volume v = voxseg::io::read_volume(dir.string(), {}, &info);
  EXPECT_EQ(v.geometry.size[2], 5);
  EXPECT_EQ(v.geometry.direction[8], 1.0);
  const voxseg::Json* dropped = info.metadata.find("dropped");
  ASSERT_TRUE(dropped);
  ASSERT_EQ(dropped->size(), 1u);
  EXPECT_EQ(dropped->as_array()[0].find("file")->as_string(), "IMG0000.dcm");
  EXPECT_NE(dropped->as_array()[0].find("reason")->as_string().find("localizer"), std::string::npos);

  // Without the LOCALIZER flag a different orientation is not guessed away: refused, naming both files.
  edit(scout, DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL");
  const voxseg::Error err = capture_error([&] { voxseg::io::read_volume(dir.string()); });
  const ExitCode code = err.code();
  const std::string e = err.what();
  EXPECT_EQ(code, ExitCode::BadInput);
  EXPECT_NE(e.find("mixes slice orientations"), std::string::npos) << e;
  EXPECT_NE(e.find("IMG0000.dcm"), std::string::npos) << e;
}

TEST(DicomArchive, EveryGapIsListed) {
  const fs::path dir = fresh_dir("gaps");
  voxseg::io::write_dicom_series(axial(4, 4, 8, [](auto, auto, auto k) { return int(k); }), dir, {});
  fs::remove(slice_file(dir, 3));
  fs::remove(slice_file(dir, 6));
  const voxseg::Error err = capture_error([&] { voxseg::io::read_volume(dir.string()); });
  const ExitCode code = err.code();
  const std::string e = err.what();
  EXPECT_EQ(code, ExitCode::BadInput);
  EXPECT_NE(e.find("missing slice(s)"), std::string::npos) << e;
  EXPECT_NE(e.find("4 mm between 'IMG0002.dcm' and 'IMG0004.dcm'"), std::string::npos) << e;
  EXPECT_NE(e.find("4 mm between 'IMG0005.dcm' and 'IMG0007.dcm'"), std::string::npos) << e;
  EXPECT_NE(e.find("spacing is 2 mm"), std::string::npos) << e;
}

// Gantry tilted by 30 degrees: columns tilt from +y towards +z, positions still step 2 mm along z,
// so each slice is shifted by exactly one row (2 mm * sin 30 = 1 mm) within its plane.
TEST(DicomArchive, GantryTiltIsRefusedOrResampledOntoAnOrthogonalGrid) {
  const int64_t nx = 6, ny = 12, nz = 5;
  const fs::path dir = fresh_dir("tilt");
  // Acquired slice k, row j shows what the orthogonal grid has at row j + (k - 2).
  auto truth = [](int64_t i, int64_t j, int64_t k) { return int(1000 + 100 * k + 10 * j + i); };
  voxseg::io::write_dicom_series(axial(nx, ny, nz, [&](auto i, auto j, auto k) { return truth(i, j + (k - 2), k); }),
                                 dir, {});
  const double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  const std::string iop = "1\\0\\0\\0\\" + std::to_string(c) + "\\" + std::to_string(s);
  for (int k = 1; k <= nz; ++k) edit(slice_file(dir, k), DCM_ImageOrientationPatient, iop.c_str());

  const voxseg::Error err = capture_error([&] { voxseg::io::read_volume(dir.string()); });
  const ExitCode code = err.code();
  const std::string e = err.what();
  EXPECT_EQ(code, ExitCode::BadInput);
  EXPECT_NE(e.find("gantry tilt (30 degrees"), std::string::npos) << e;
  EXPECT_NE(e.find("--allow-tilt"), std::string::npos) << e;

  voxseg::io::ReadOptions allow;
  allow.allow_tilt = true;
  voxseg::io::VolumeFileInfo info;
  const Volume v = voxseg::io::read_volume(dir.string(), allow, &info);
  const Geometry& g = v.geometry;
  EXPECT_EQ(g.size[0], nx);
  EXPECT_EQ(g.size[1], ny);
  EXPECT_EQ(g.size[2], nz);
  EXPECT_NEAR(g.spacing[2], 2 * c, 1e-4);  // the step along the slice normal
  EXPECT_NEAR(g.direction[5], -s, 1e-6);   // normal = row x col = (0, -sin, cos)
  EXPECT_NEAR(g.direction[8], c, 1e-6);
  // The middle slice stays where it was acquired: origin = first position + 2 rows along the columns.
  EXPECT_NEAR(g.origin[1], 2 * c, 1e-4);
  EXPECT_NEAR(g.origin[2], 2 * s, 1e-4);
  EXPECT_NEAR(info.metadata.find("gantry_tilt_resampled_degrees")->as_double(), 30.0, 1e-3);
  ASSERT_EQ(v.data.scalar_type(), at::kShort);
  auto a = v.data.accessor<int16_t, 3>();
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 2; j < ny - 2; ++j)
      for (int64_t i = 0; i < nx; ++i) ASSERT_EQ(a[k][j][i], truth(i, j, k)) << i << "," << j << "," << k;
  // Rows shifted in from outside the acquired field get the minimum value (truth(0, -2, 0) = 980).
  EXPECT_EQ(v.data.min().item<int>(), 980);
  EXPECT_EQ(a[nz - 1][0][0], 980);
  EXPECT_EQ(a[0][ny - 1][nx - 1], 980);
}

TEST(DicomArchive, SmallPositionNoiseIsNoTilt) {
  const fs::path dir = fresh_dir("noise");
  voxseg::io::write_dicom_series(axial(4, 4, 5, [](auto, auto, auto k) { return int(k); }), dir, {});
  // 0.2 mm sideways over the series (under half a 1 mm pixel), as DS rounding gives.
  edit(slice_file(dir, 5), DCM_ImagePositionPatient, "0.2\\0\\8");
  EXPECT_EQ(voxseg::io::read_volume(dir.string()).geometry.size[2], 5);
}

TEST(DicomArchive, EveryIrregularStepIsListed) {
  const fs::path dir = fresh_dir("irregular");
  voxseg::io::write_dicom_series(axial(4, 4, 8, [](auto, auto, auto k) { return int(k); }), dir, {});
  edit(slice_file(dir, 3), DCM_ImagePositionPatient, "0\\0\\4.5");  // steps 2.5 and 1.5 around it
  edit(slice_file(dir, 7), DCM_ImagePositionPatient, "0\\0\\11.6");
  const std::string e = capture_error([&] { voxseg::io::read_volume(dir.string()); }).what();
  EXPECT_NE(e.find("non-uniform slice spacing"), std::string::npos) << e;
  for (const char* part : {"2.5 mm between 'IMG0002.dcm' and 'IMG0003.dcm'", "1.5 mm between 'IMG0003.dcm' and 'IMG0004.dcm'",
                           "1.6 mm between 'IMG0006.dcm' and 'IMG0007.dcm'", "2.4 mm between 'IMG0007.dcm' and 'IMG0008.dcm'",
                           "where the spacing is 2 mm (more than 5% apart)"})
    EXPECT_NE(e.find(part), std::string::npos) << part << " in " << e;
}

// Bilinear resampling is exact for a linear ramp, also for fractional shifts in both directions.
TEST(DicomArchive, TiltResamplingInterpolatesLinearly) {
  const int64_t nz = 5, ny = 8, nx = 9;
  auto ramp = [](double x, double y, double k) { return x + 10 * y + 100 * k; };
  at::Tensor in = at::empty({nz, ny, nx}, at::kFloat);
  auto a = in.accessor<float, 3>();
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) a[k][y][x] = static_cast<float>(ramp(x, y, k));
  const at::Tensor out = voxseg::io::detail::resample_tilted(in, 0.5, -0.25);
  auto b = out.accessor<float, 3>();
  for (int64_t k = 0; k < nz; ++k) {
    const double shift = static_cast<double>(k) - 2.0;  // the middle slice does not move
    for (int64_t y = 1; y < ny - 1; ++y)
      for (int64_t x = 1; x < nx - 1; ++x)
        EXPECT_NEAR(b[k][y][x], ramp(x - 0.5 * shift, y + 0.25 * shift, k), 1e-4) << x << "," << y << "," << k;
  }
  EXPECT_TRUE(at::equal(out[2], in[2]));
}
