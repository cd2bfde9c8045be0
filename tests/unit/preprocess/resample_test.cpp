#include "voxseg/preprocess/resample.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace voxseg::preprocess;

namespace {

// Runs Debian's python3 + scipy on `in` (float32) with `code` computing `out` from `x`; undefined if unavailable.
at::Tensor scipy_reference(const at::Tensor& in, const std::string& code, std::vector<int64_t> out_shape) {
  if (std::system("/usr/bin/python3 -c 'import scipy.ndimage' >/dev/null 2>&1") != 0) return {};
  const auto dir = std::filesystem::temp_directory_path() / ("voxseg-resample-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const at::Tensor c = in.contiguous();
  {
    std::ofstream f(dir / "in.f32", std::ios::binary);
    f.write(reinterpret_cast<const char*>(c.data_ptr<float>()), std::streamsize(c.numel() * 4));
  }
  std::string shape;
  for (auto s : c.sizes()) shape += std::to_string(s) + ",";
  const std::string script = "import numpy as np\nfrom scipy import ndimage as ndi\nx = np.fromfile('" +
                             (dir / "in.f32").string() + "', dtype=np.float32).reshape((" + shape +
                             ")).astype(np.float64)\n" + code + "\nout.astype(np.float32).tofile('" +
                             (dir / "out.f32").string() + "')\n";
  { std::ofstream(dir / "ref.py") << script; }
  if (std::system(("/usr/bin/python3 " + (dir / "ref.py").string()).c_str()) != 0) return {};
  at::Tensor out = torch::empty(out_shape, torch::kFloat);
  std::ifstream f(dir / "out.f32", std::ios::binary);
  f.read(reinterpret_cast<char*>(out.data_ptr<float>()), std::streamsize(out.numel() * 4));
  std::filesystem::remove_all(dir);
  return out;
}

}  // namespace

TEST(Resample, CubicReproducesALinearRampAwayFromTheEdges) {
  const int64_t n = 64, m = 119;
  at::Tensor ramp = torch::arange(n, torch::kFloat) * 3 + 1;
  const at::Tensor out = resample_axis(ramp, 0, m, 3);
  int checked = 0;
  for (int64_t j = 0; j < m; ++j) {
    const double c = source_coordinate(j, n, m);
    if (c < 12 || c > n - 13) continue;  // edge replication bends the spline near the ends (as scipy's)
    EXPECT_NEAR(out[j].item<float>(), 3 * c + 1, 1e-4) << "j=" << j;
    ++checked;
  }
  EXPECT_GT(checked, 70);
}

TEST(Resample, CubicInterpolatesTheSamplesWhenTheGridIsUnchangedInLength) {
  // Identity length returns the data; a 2x upsample then picking back is not exact, so check odd factors:
  // 3x upsampling puts every third output exactly on an input sample.
  at::Tensor x = torch::rand({21}, torch::kFloat);
  const at::Tensor up = resample_axis(x, 0, 63, 3);
  for (int64_t i = 0; i < 21; ++i) EXPECT_NEAR(up[3 * i + 1].item<float>(), x[i].item<float>(), 1e-5);
}

TEST(Resample, LinearAndNearestTapsFollowGridModeWithClamping) {
  const auto lin = linear_taps(4, 8, 1);  // c = (j + 0.5) / 2 - 0.5
  EXPECT_EQ(lin[0].i0, 0);
  EXPECT_FLOAT_EQ(lin[0].w1, 0.0f);  // c = -0.25 clamped to 0
  EXPECT_EQ(lin[1].i0, 0);
  EXPECT_FLOAT_EQ(lin[1].w1, 0.25f);  // c = 0.25
  EXPECT_EQ(lin[7].i0, 3);            // c = 3.25 clamped to 3
  const auto nn = linear_taps(3, 2, 0);  // c = 0.25, 1.75 -> 0, 2
  EXPECT_EQ(nn[0].i0, 0);
  EXPECT_EQ(nn[1].i0, 2);
}

TEST(Resample, NewShapeRoundsHalfToEvenLikePython) {
  EXPECT_EQ(compute_new_shape({5, 7, 10}, {1, 1, 1}, {2, 2, 2}), (std::array<int64_t, 3>{2, 4, 5}));
  EXPECT_EQ(compute_new_shape({300, 512, 512}, {2.5, 0.8, 0.8}, {1.5, 1.5, 1.5}),
            (std::array<int64_t, 3>{500, 273, 273}));
}

TEST(Resample, SeparateZDecisionTable) {
  const ResampleOptions o;
  auto d = decide_separate_z({5, 1, 1}, {1, 1, 1}, o);  // current anisotropic: its coarse axis
  EXPECT_TRUE(d.separate);
  EXPECT_EQ(d.axis, 0);
  d = decide_separate_z({1, 1, 1}, {1, 3.5, 1}, o);  // target anisotropic
  EXPECT_TRUE(d.separate);
  EXPECT_EQ(d.axis, 1);
  d = decide_separate_z({3, 1, 1}, {1, 1, 1}, o);  // ratio 3 is not > 3
  EXPECT_FALSE(d.separate);
  d = decide_separate_z({0.24, 1.25, 1.25}, {1, 1, 1}, o);  // two coarse axes: joint
  EXPECT_FALSE(d.separate);
  ResampleOptions forced;
  forced.force_separate_z = false;
  EXPECT_FALSE(decide_separate_z({5, 1, 1}, {1, 1, 1}, forced).separate);
  EXPECT_EQ(axis_orders({5, 1, 1}, {1, 1, 1}, o), (std::array<int, 3>{0, 3, 3}));
  EXPECT_EQ(axis_orders({1, 1, 1}, {2, 2, 2}, o), (std::array<int, 3>{3, 3, 3}));
}

TEST(Resample, AnisotropicRuleIsNearestOutOfPlane) {
  // Current spacing (5,1,1): z uses nearest, so each output slice is a copy of one in-plane-resampled slice.
  at::Tensor x = torch::rand({1, 4, 6, 6}, torch::kFloat);
  const auto orders = axis_orders({5, 1, 1}, {2, 1, 1}, ResampleOptions{});
  const at::Tensor out = resample_to_shape(x, {10, 6, 6}, orders);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 10, 6, 6}));
  const auto taps = linear_taps(4, 10, 0);
  for (int64_t z = 0; z < 10; ++z) EXPECT_TRUE(torch::equal(out[0][z], x[0][taps[size_t(z)].i0])) << z;
}

// skimage.transform.resize(order=3, mode='edge', anti_aliasing=False), which nnU-Net calls, is scipy's
// zoom in grid mode clipped to the input's value range.
TEST(Resample, MatchesSkimageResizeOrder3ScipyZoomClippedToTheInputRange) {
  torch::manual_seed(3);
  const at::Tensor x = torch::rand({7, 11, 9}, torch::kFloat) * 100;
  const at::Tensor ours = resample_to_shape(x, {13, 6, 9}, {3, 3, 3});
  const at::Tensor ref = scipy_reference(
      x, "out = np.clip(ndi.zoom(x, (13/7, 6/11, 1.0), order=3, mode='nearest', grid_mode=True), x.min(), x.max())",
      {13, 6, 9});
  if (!ref.defined()) GTEST_SKIP() << "Debian's /usr/bin/python3 with scipy is not available for the cross-check";
  EXPECT_LT((ours - ref).abs().max().item<float>(), 2e-3);  // float32 between axis passes vs scipy's float64
}

TEST(Resample, CubicOvershootIsClippedPerChannelOrPerSliceAlongTheSeparateAxis) {
  // A step 0 -> 100 shrunk with cubic splines overshoots below 0 and above 100 unclipped.
  at::Tensor step = torch::zeros({2, 1, 1, 12});
  step.narrow(3, 6, 6).fill_(100);
  step[1] = step[1] * 0.5 + 10;  // second channel: 10 .. 60
  const at::Tensor raw = resample_axis(step, 3, 7, 3);
  ASSERT_LT(raw[0].min().item<float>(), -0.05f);
  ASSERT_GT(raw[0].max().item<float>(), 100.05f);
  const at::Tensor out = resample_to_shape(step, {1, 1, 7}, {3, 3, 3});
  EXPECT_GE(out[0].min().item<float>(), 0.0f);
  EXPECT_LE(out[0].max().item<float>(), 100.0f);
  EXPECT_GE(out[1].min().item<float>(), 10.0f);
  EXPECT_LE(out[1].max().item<float>(), 60.0f);
  EXPECT_FLOAT_EQ(out[1].max().item<float>(), 60.0f);  // the overshoot saturates at the channel's own max

  // Separate z (orders 0, 3, 3): each slice is resized in-plane and clipped to its own range, then
  // picked by nearest neighbour, as nnU-Net's per-slice resize does.
  at::Tensor slices = torch::zeros({2, 1, 12});
  slices[0].narrow(1, 6, 6).fill_(10);       // slice 0: 0 .. 10
  slices[1].fill_(50).narrow(1, 6, 6).fill_(100);  // slice 1: 50 .. 100
  const at::Tensor sep = resample_to_shape(slices, {4, 1, 7}, {0, 3, 3});
  for (int64_t z = 0; z < 4; ++z) {
    const float lo = z < 2 ? 0.0f : 50.0f, hi = z < 2 ? 10.0f : 100.0f;
    EXPECT_GE(sep[z].min().item<float>(), lo) << z;
    EXPECT_LE(sep[z].max().item<float>(), hi) << z;
    EXPECT_FLOAT_EQ(sep[z].max().item<float>(), hi) << z;
  }
}

TEST(Resample, MatchesScipyZoomOrder1) {
  torch::manual_seed(4);
  const at::Tensor x = torch::rand({5, 8, 6}, torch::kFloat);
  const at::Tensor ours = resample_to_shape(x, {9, 3, 11}, {1, 1, 1});
  const at::Tensor ref = scipy_reference(
      x, "out = ndi.zoom(x, (9/5, 3/8, 11/6), order=1, mode='nearest', grid_mode=True)", {9, 3, 11});
  if (!ref.defined()) GTEST_SKIP() << "Debian's /usr/bin/python3 with scipy is not available for the cross-check";
  EXPECT_LT((ours - ref).abs().max().item<float>(), 1e-5);
}
