// PIL bilinear and skimage cubic resizing against the Python libraries themselves, and MedSAM's
// intensity mapping against numpy.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <tuple>
#include <vector>

#include "../shared_test_support.h"
#include "voxseg/refine/intensity.h"
#include "voxseg/refine/resize.h"
#include "voxseg/refine/transforms.h"

namespace fs = std::filesystem;
using namespace voxseg;
using namespace voxseg::refine;

namespace {

bool python_has(const std::string& module) {
  return std::system(("/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0;
}

void write_raw(const fs::path& path, const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  std::ofstream(path, std::ios::binary).write(static_cast<const char*>(c.data_ptr()), std::streamsize(c.nbytes()));
}

at::Tensor read_raw(const fs::path& path, at::IntArrayRef shape, at::ScalarType type) {
  at::Tensor t = torch::empty(shape, type);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.data_ptr()), std::streamsize(t.nbytes()));
  EXPECT_TRUE(in.good()) << path;
  return t;
}

int run_python(const fs::path& dir, const std::string& script) {
  std::ofstream(dir / "script.py") << script;
  return std::system(("cd '" + dir.string() + "' && /usr/bin/python3 script.py").c_str());
}

// Random image with smooth areas and sharp edges (where rounding differences would show).
at::Tensor test_image(int64_t c, int64_t h, int64_t w, int seed) {
  torch::manual_seed(seed);
  at::Tensor img = torch::randint(0, 256, {c, h, w}, torch::kByte);
  img.slice(1, h / 4, h / 2).slice(2, w / 4, w / 2).fill_(200);
  img.slice(1, h / 2, h).slice(2, 0, w / 3).fill_(7);
  return img;
}

}  // namespace

TEST(PilResize, EqualsPillowBilinearForShrinkingAndGrowing) {
  if (!python_has("PIL")) GTEST_SKIP() << "/usr/bin/python3 cannot import PIL (install python3-pil)";
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "voxseg-pil");
  struct Case {
    int64_t c, h, w, oh, ow;
  };
  for (const Case& k : {Case{3, 37, 53, 1024 * 37 / 53 + 1, 1024}, Case{1, 300, 200, 1024, 683},
                        Case{3, 1500, 900, 1024, 614}, Case{3, 64, 64, 1024, 1024}, Case{1, 31, 1024, 31, 1024}}) {
    const at::Tensor img = test_image(k.c, k.h, k.w, int(k.h));
    write_raw(dir / "in.raw", img.permute({1, 2, 0}));
    const std::string mode = k.c == 3 ? "RGB" : "L";
    ASSERT_EQ(run_python(dir, "import numpy as np\nfrom PIL import Image\n"
                              "a = np.fromfile('in.raw', np.uint8).reshape(" + std::to_string(k.h) + "," +
                              std::to_string(k.w) + "," + std::to_string(k.c) + ")\n"
                              "im = Image.fromarray(a if " + std::to_string(k.c) + " == 3 else a[:, :, 0], '" + mode + "')\n"
                              "np.asarray(im.resize((" + std::to_string(k.ow) + "," + std::to_string(k.oh) +
                              "), Image.BILINEAR)).tofile('out.raw')\n"),
              0);
    const at::Tensor expected = read_raw(dir / "out.raw", {k.oh, k.ow, k.c}, torch::kByte).permute({2, 0, 1});
    const at::Tensor got = pil_resize_bilinear(img, k.oh, k.ow);
    EXPECT_TRUE(torch::equal(got, expected)) << k.h << "x" << k.w << " -> " << k.oh << "x" << k.ow << ": "
                                             << (got != expected).sum().item<int64_t>() << " pixels differ";
  }
}

TEST(SkimageResize, EqualsSkimageCubicAntiAliased) {
  if (!python_has("skimage")) GTEST_SKIP() << "/usr/bin/python3 cannot import skimage (install python3-skimage)";
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "voxseg-skimage");
  struct Case {
    int64_t h, w, oh, ow;
  };
  for (const Case& k : {Case{40, 56, 256, 256}, Case{300, 120, 128, 128}, Case{1, 7, 16, 16}}) {
    const at::Tensor img = test_image(3, k.h, k.w, int(k.w));
    write_raw(dir / "in.raw", img.permute({1, 2, 0}));
    ASSERT_EQ(run_python(dir, "import numpy as np\nfrom skimage import transform\n"
                              "a = np.fromfile('in.raw', np.uint8).reshape(" + std::to_string(k.h) + "," +
                              std::to_string(k.w) + ",3)\n"
                              "r = transform.resize(a, (" + std::to_string(k.oh) + "," + std::to_string(k.ow) +
                              "), order=3, preserve_range=True, anti_aliasing=True)\n"
                              "r.astype(np.float64).tofile('out.raw')\n"),
              0);
    const at::Tensor expected = read_raw(dir / "out.raw", {k.oh, k.ow, 3}, torch::kDouble).permute({2, 0, 1});
    const at::Tensor got = skimage_resize_cubic(img.to(torch::kDouble), k.oh, k.ow);
    EXPECT_LT((got - expected).abs().max().item<double>(), 1e-6) << k.h << "x" << k.w;
  }
}

TEST(Intensity, PercentileEqualsNumpyLinear) {
  // numpy.percentile([1..10], q): index q/100 * 9 interpolated.
  std::vector<double> v{10, 3, 1, 7, 2, 9, 4, 8, 6, 5};
  EXPECT_DOUBLE_EQ(percentile_linear(v, 0.5), 1.045);
  EXPECT_DOUBLE_EQ(percentile_linear(v, 99.5), 9.955);
  EXPECT_DOUBLE_EQ(percentile_linear(v, 50), 5.5);
}

TEST(Intensity, WindowClipsThenStretchesTheClippedRange) {
  const at::Tensor ct = torch::tensor({-1000.0, -160.0, 40.0, 240.0, 3000.0}).view({1, 1, 5});
  const at::Tensor u8 = to_uint8(ct, parse_intensity_mapping("abdomen"));
  EXPECT_TRUE(torch::equal(u8.flatten(), torch::tensor({0, 0, 127, 255, 255}, torch::kByte)));
  EXPECT_EQ(test_support::capture_error([] { parse_intensity_mapping("40,-1"); }).code(), ExitCode::Usage);
  const auto m = parse_intensity_mapping("-600,1500");
  EXPECT_EQ(m.level, -600);
  EXPECT_EQ(m.width, 1500);
}

TEST(Transforms, SamFrameRoundsTheLongSideScaleAsResizeLongestSide) {
  const SliceFrame f = slice_frame(Preset::Sam, 300, 451);
  EXPECT_EQ(f.resized_w, 1024);
  EXPECT_EQ(f.resized_h, int64_t(300 * (1024.0 / 451) + 0.5));
  EXPECT_DOUBLE_EQ(f.scale_y, double(f.resized_h) / 300);
  const SliceFrame m = slice_frame(Preset::MedSam, 300, 451);
  EXPECT_EQ(m.resized_h, 1024);
  EXPECT_DOUBLE_EQ(m.scale_x, 1024.0 / 451);
}

TEST(Transforms, UpscaledLogitsEqualTheTwoStepInterpolation) {
  // upscale_logits composes the reference's resamplings per axis; compare with LibTorch's own
  // interpolate doing them in turn (bilinear to S x S, crop, bilinear to H x W; MedSam: sigmoid,
  // bilinear to H x W) on slices that shrink, grow, are 1 pixel wide, and square as the CT's.
  namespace F = torch::nn::functional;
  const auto bilinear = [](const at::Tensor& x, int64_t h, int64_t w) {
    return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear)
                                 .align_corners(false));
  };
  torch::manual_seed(3);
  for (const auto& [h, w, s] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {512, 512, 1024}, {300, 451, 1024}, {1500, 700, 1024}, {45, 70, 128}, {1, 9, 64}, {64, 64, 64}}) {
    SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w) + " in " + std::to_string(s));
    const at::Tensor low = torch::randn({2, s / 4, s / 4}) * 8;
    const SliceFrame sam = slice_frame(Preset::Sam, h, w, s);
    at::Tensor full = bilinear(low.unsqueeze(0), s, s).slice(2, 0, sam.resized_h).slice(3, 0, sam.resized_w);
    const at::Tensor expected = bilinear(full, h, w)[0];
    const at::Tensor got = upscale_logits(low, Preset::Sam, sam);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5);
    const SliceFrame med = slice_frame(Preset::MedSam, h, w, s);
    const at::Tensor prob = bilinear(torch::sigmoid(low).unsqueeze(0), h, w)[0];
    EXPECT_LT((torch::sigmoid(upscale_logits(low, Preset::MedSam, med)) - prob).abs().max().item<double>(), 1e-6);
  }
}

TEST(Transforms, EncoderInputEqualsSamPredictorAndMedSamPreprocessing) {
  if (!python_has("PIL") || !python_has("skimage") || !python_has("torch"))
    GTEST_SKIP() << "/usr/bin/python3 needs PIL, skimage and torch (python3-pil, python3-skimage, python3-torch)";
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "voxseg-samprep");
  const int64_t h = 45, w = 70, s = 128;
  const at::Tensor grey = test_image(1, h, w, 5);
  write_raw(dir / "in.raw", grey[0]);
  ASSERT_EQ(run_python(dir, "import numpy as np, torch, torch.nn.functional as F\nfrom PIL import Image\n"
                            "from skimage import transform\n"
                            "g = np.fromfile('in.raw', np.uint8).reshape(45, 70)\n"
                            "rgb = np.repeat(g[:, :, None], 3, axis=-1)\n"
                            "scale = 128 * 1.0 / max(45, 70); nh, nw = int(45 * scale + 0.5), int(70 * scale + 0.5)\n"
                            "r = np.array(Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR))\n"
                            "x = torch.as_tensor(r).permute(2, 0, 1).contiguous()[None]\n"
                            "x = (x - torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)) / "
                            "torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)\n"
                            "x = F.pad(x, (0, 128 - nw, 0, 128 - nh))\n"
                            "x[0].float().numpy().tofile('sam.raw')\n"
                            "m = transform.resize(rgb, (128, 128), order=3, preserve_range=True, anti_aliasing=True)"
                            ".astype(np.uint8)\n"
                            "m = (m - m.min()) / np.clip(m.max() - m.min(), a_min=1e-8, a_max=None)\n"
                            "torch.tensor(m).float().permute(2, 0, 1).numpy().tofile('medsam.raw')\n"
                            "low = torch.linspace(-3, 3, 2 * 32 * 32).view(1, 2, 32, 32)\n"
                            "low.numpy().tofile('low.raw')\n"
                            "up = F.interpolate(low, (128, 128), mode='bilinear', align_corners=False)[..., :nh, :nw]\n"
                            "F.interpolate(up, (45, 70), mode='bilinear', align_corners=False)[0].numpy().tofile('up.raw')\n"
                            "p = F.interpolate(torch.sigmoid(low), (45, 70), mode='bilinear', align_corners=False)[0]\n"
                            "p.numpy().tofile('prob.raw')\n"),
            0);
  const at::Tensor rgb = grey.expand({3, h, w}).contiguous();
  const SliceFrame sam = slice_frame(Preset::Sam, h, w, s);
  const at::Tensor expected_sam = read_raw(dir / "sam.raw", {3, s, s}, torch::kFloat);
  EXPECT_LT((encoder_input(rgb, Preset::Sam, sam) - expected_sam).abs().max().item<double>(), 1e-6);
  const SliceFrame med = slice_frame(Preset::MedSam, h, w, s);
  const at::Tensor expected_med = read_raw(dir / "medsam.raw", {3, s, s}, torch::kFloat);
  const at::Tensor got_med = encoder_input(rgb, Preset::MedSam, med);
  // astype(uint8) truncates: a cubic value a rounding error away from an integer may land one grey
  // level off; allow that on a few pixels only.
  const at::Tensor diff = (got_med - expected_med).abs();
  EXPECT_LT(diff.max().item<double>(), 1.5 / 255);
  EXPECT_LT((diff > 1e-6).sum().item<int64_t>(), 10);
  const at::Tensor low = read_raw(dir / "low.raw", {2, 32, 32}, torch::kFloat);
  const at::Tensor up = read_raw(dir / "up.raw", {2, h, w}, torch::kFloat);
  EXPECT_LT((upscale_logits(low, Preset::Sam, sam) - up).abs().max().item<double>(), 1e-5);
  const at::Tensor prob = read_raw(dir / "prob.raw", {2, h, w}, torch::kFloat);
  const at::Tensor med_logits = upscale_logits(low, Preset::MedSam, med);
  EXPECT_TRUE(torch::equal(med_logits > 0, prob > 0.5));
  EXPECT_LT((torch::sigmoid(med_logits) - prob).abs().max().item<double>(), 1e-6);
}
