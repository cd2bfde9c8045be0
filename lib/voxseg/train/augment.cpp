#include "voxseg/train/augment.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <stdexcept>

#include "voxseg/postprocess/components.h"

namespace voxseg::train {
namespace F = torch::nn::functional;
namespace {

constexpr double kPi = 3.14159265358979323846;

using Mat3 = std::array<double, 9>;
Mat3 identity() { return {1, 0, 0, 0, 1, 0, 0, 0, 1}; }
Mat3 mul(const Mat3& a, const Mat3& b) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) r[size_t(i * 3 + j)] += a[size_t(i * 3 + k)] * b[size_t(k * 3 + j)];
  return r;
}
// Rotation about array axis `axis` (0=z, 1=y, 2=x) by angle radians, acting on (z,y,x) vectors.
Mat3 rotation(int axis, double angle) {
  const double c = std::cos(angle), s = std::sin(angle);
  Mat3 m = identity();
  const int a = (axis + 1) % 3, b = (axis + 2) % 3;
  m[size_t(a * 3 + a)] = c;
  m[size_t(a * 3 + b)] = -s;
  m[size_t(b * 3 + a)] = s;
  m[size_t(b * 3 + b)] = c;
  return m;
}

struct Rng {
  explicit Rng(uint64_t seed) : engine(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(engine); }
  bool chance(double p) { return p > 0 && uniform(0, 1) < p; }
  int64_t below(int64_t n) { return n <= 1 ? 0 : std::uniform_int_distribution<int64_t>(0, n - 1)(engine); }
  std::mt19937_64 engine;
};

at::Tensor gaussian_kernel1d(double sigma) {
  const int64_t radius = std::max<int64_t>(1, int64_t(std::ceil(3 * sigma)));
  auto x = torch::arange(-radius, radius + 1, torch::kFloat);
  auto k = torch::exp(-(x * x) / float(2 * sigma * sigma));
  return k / k.sum();
}

// Separable Gaussian blur of one channel [Z,Y,X] along the given axes.
at::Tensor blur(const at::Tensor& x, double sigma, int skip_axis) {
  auto v = x.unsqueeze(0).unsqueeze(0);
  const auto k = gaussian_kernel1d(sigma);
  const int64_t n = k.size(0);
  for (int axis = 0; axis < 3; ++axis) {
    if (axis == skip_axis || x.size(axis) < 2) continue;
    std::vector<int64_t> shape{1, 1, 1, 1, 1};
    shape[size_t(2 + axis)] = n;
    std::vector<int64_t> pad{0, 0, 0};
    pad[size_t(axis)] = n / 2;
    v = F::conv3d(v, k.view(shape), F::Conv3dFuncOptions().padding(pad));
  }
  return v.squeeze(0).squeeze(0);
}

}  // namespace

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::vector<at::Tensor> foreground_locations(const at::Tensor& label, int64_t num_classes, int64_t max_per_class,
                                             uint64_t seed, std::vector<int64_t>* class_voxels) {
  std::vector<at::Tensor> out;
  auto gen = at::detail::createCPUGenerator(seed);
  const auto lab = label.to(torch::kLong);
  if (class_voxels) class_voxels->clear();
  for (int64_t c = 1; c < num_classes; ++c) {
    auto idx = torch::nonzero(lab == c);
    if (class_voxels) class_voxels->push_back(idx.size(0));
    if (idx.size(0) > max_per_class) {
      const auto perm = torch::randperm(idx.size(0), gen, torch::kLong).slice(0, 0, max_per_class);
      idx = idx.index_select(0, std::get<0>(perm.sort()));
    }
    out.push_back(idx.contiguous());
  }
  return out;
}

std::vector<std::vector<std::vector<int64_t>>> foreground_components(const at::Tensor& label,
                                                                     const std::vector<at::Tensor>& fg_locations) {
  const auto cc = postprocess::connected_components(label, 26);
  const auto ids = cc.ids.contiguous();
  const auto* id = ids.data_ptr<int32_t>();
  const int64_t sy = label.size(2), sz = label.size(1) * label.size(2);
  std::vector<std::vector<std::vector<int64_t>>> out(fg_locations.size());
  for (size_t c = 0; c < fg_locations.size(); ++c) {
    if (!fg_locations[c].defined() || fg_locations[c].size(0) == 0) continue;
    const auto loc = fg_locations[c].contiguous();
    const auto acc = loc.accessor<int64_t, 2>();
    std::vector<int64_t> slot(size_t(cc.count() + 1), -1);  // component id -> index in out[c]
    for (int64_t r = 0; r < loc.size(0); ++r) {
      const int32_t k = id[acc[r][0] * sz + acc[r][1] * sy + acc[r][2]];
      if (slot[size_t(k)] < 0) {
        slot[size_t(k)] = int64_t(out[c].size());
        out[c].emplace_back();
      }
      out[c][size_t(slot[size_t(k)])].push_back(r);
    }
  }
  return out;
}

std::string class_sampling_name(ClassSampling s) {
  return s == ClassSampling::Rare ? "rare" : s == ClassSampling::Lesion ? "lesion" : "uniform";
}

ClassSampling parse_class_sampling(const std::string& name) {
  if (name == "uniform") return ClassSampling::Uniform;
  if (name == "rare") return ClassSampling::Rare;
  if (name == "lesion") return ClassSampling::Lesion;
  throw std::invalid_argument("unknown class sampling '" + name + "'; use uniform, rare or lesion");
}

std::vector<double> centre_class_probabilities(const CaseArrays& c, ClassSampling sampling) {
  std::vector<double> p(c.fg_locations.size(), 0.0);
  double total = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!c.fg_locations[i].defined() || c.fg_locations[i].size(0) == 0) continue;
    // The full count when known; the listed positions otherwise (a lower bound, capped per class).
    const int64_t n = i < c.class_voxels.size() ? std::max<int64_t>(1, c.class_voxels[i]) : c.fg_locations[i].size(0);
    p[i] = sampling == ClassSampling::Uniform ? 1.0 : 1.0 / std::sqrt(double(n));
    total += p[i];
  }
  if (total > 0)
    for (auto& v : p) v /= total;
  return p;
}

std::array<double, 3> choose_centre(const CaseArrays& c, const std::array<int64_t, 3>& patch, bool force_fg,
                                    uint64_t seed, ClassSampling sampling) {
  Rng rng(seed);
  if (force_fg) {
    std::vector<size_t> present;
    for (size_t i = 0; i < c.fg_locations.size(); ++i)
      if (c.fg_locations[i].defined() && c.fg_locations[i].size(0) > 0) present.push_back(i);
    if (!present.empty()) {
      size_t cls = present.back();
      if (sampling == ClassSampling::Uniform) {
        cls = present[size_t(rng.below(int64_t(present.size())))];  // the draw sequence of earlier versions
      } else {
        const auto p = centre_class_probabilities(c, sampling);
        double u = rng.uniform(0, 1);
        for (const size_t i : present) {
          if (u < p[i]) {
            cls = i;
            break;
          }
          u -= p[i];
        }
      }
      const auto& loc = c.fg_locations[cls];
      int64_t r = -1;
      if (sampling == ClassSampling::Lesion && cls < c.fg_components.size() && !c.fg_components[cls].empty()) {
        const auto& comps = c.fg_components[cls];
        const auto& rows = comps[size_t(rng.below(int64_t(comps.size())))];
        r = rows[size_t(rng.below(int64_t(rows.size())))];
      } else {
        r = rng.below(loc.size(0));
      }
      const auto row = loc[r];
      const auto acc = row.accessor<int64_t, 1>();
      return {double(acc[0]), double(acc[1]), double(acc[2])};
    }
  }
  std::array<double, 3> centre{};
  for (int a = 0; a < 3; ++a) {
    const int64_t size = c.label.size(a), p = patch[size_t(a)];
    if (size <= p) {
      centre[size_t(a)] = double(size - 1) / 2.0;
    } else {
      // patch start in [0, size - p]; centre = start + (p - 1) / 2
      centre[size_t(a)] = double(rng.below(size - p + 1)) + double(p - 1) / 2.0;
    }
  }
  return centre;
}

Sample extract_patch(const CaseArrays& c, const std::array<int64_t, 3>& patch, const std::array<double, 3>& centre,
                     const std::array<double, 9>& m, const at::Tensor& displacement) {
  const int64_t pz = patch[0], py = patch[1], px = patch[2];
  const bool is_identity = m == identity() && !displacement.defined();
  Sample s;
  if (is_identity && std::all_of(centre.begin(), centre.end(), [&](double v) {
        return std::abs(v * 2 - std::round(v * 2)) < 1e-9;
      })) {
    // Plain crop with zero padding (exact).
    std::array<int64_t, 3> start{};
    for (int a = 0; a < 3; ++a) start[size_t(a)] = int64_t(std::floor(centre[size_t(a)] - double(patch[size_t(a)] - 1) / 2.0 + 1e-9));
    auto img = torch::zeros({c.image.size(0), pz, py, px}, torch::kFloat);
    auto lab = torch::zeros({pz, py, px}, torch::kLong);
    std::array<int64_t, 3> lo{}, hi{};
    for (int a = 0; a < 3; ++a) {
      lo[size_t(a)] = std::max<int64_t>(0, start[size_t(a)]);
      hi[size_t(a)] = std::min<int64_t>(c.label.size(a), start[size_t(a)] + patch[size_t(a)]);
    }
    if (hi[0] > lo[0] && hi[1] > lo[1] && hi[2] > lo[2]) {
      using torch::indexing::Slice;
      img.index_put_({Slice(), Slice(lo[0] - start[0], hi[0] - start[0]), Slice(lo[1] - start[1], hi[1] - start[1]),
                      Slice(lo[2] - start[2], hi[2] - start[2])},
                     c.image.index({Slice(), Slice(lo[0], hi[0]), Slice(lo[1], hi[1]), Slice(lo[2], hi[2])}).to(torch::kFloat));
      lab.index_put_({Slice(lo[0] - start[0], hi[0] - start[0]), Slice(lo[1] - start[1], hi[1] - start[1]),
                      Slice(lo[2] - start[2], hi[2] - start[2])},
                     c.label.index({Slice(lo[0], hi[0]), Slice(lo[1], hi[1]), Slice(lo[2], hi[2])}).to(torch::kLong));
    }
    s.image = img;
    s.label = lab;
    return s;
  }
  // Offsets of the patch voxels from the patch centre, mapped through m, plus the centre.
  auto oz = torch::arange(pz, torch::kFloat) - float(pz - 1) / 2.0f;
  auto oy = torch::arange(py, torch::kFloat) - float(py - 1) / 2.0f;
  auto ox = torch::arange(px, torch::kFloat) - float(px - 1) / 2.0f;
  auto grids = torch::meshgrid({oz, oy, ox}, "ij");
  auto offsets = torch::stack({grids[0], grids[1], grids[2]}, -1).view({-1, 3});  // [N,3] z,y,x
  auto mat = torch::tensor(std::vector<float>(m.begin(), m.end())).view({3, 3});
  auto coords = offsets.matmul(mat.t());
  if (displacement.defined()) coords = coords + displacement.view({-1, 3});
  coords = coords + torch::tensor({float(centre[0]), float(centre[1]), float(centre[2])});
  std::vector<at::Tensor> norm;
  for (int a = 0; a < 3; ++a) {
    const double extent = std::max<double>(1.0, double(c.label.size(a) - 1));
    norm.push_back(coords.select(1, a) * float(2.0 / extent) - 1.0f);
  }
  // grid_sample wants (x, y, z) in the last dimension.
  auto grid = torch::stack({norm[2], norm[1], norm[0]}, -1).view({1, pz, py, px, 3});
  auto img = F::grid_sample(c.image.to(torch::kFloat).unsqueeze(0), grid,
                            F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(true));
  auto lab = F::grid_sample(c.label.to(torch::kFloat).unsqueeze(0).unsqueeze(0), grid,
                            F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kZeros).align_corners(true));
  s.image = img.squeeze(0);
  s.label = lab.squeeze(0).squeeze(0).round().to(torch::kLong);
  return s;
}

Sample make_sample(const CaseArrays& c, const std::array<int64_t, 3>& patch, const AugmentOptions& o, uint64_t seed) {
  Rng rng(seed);
  const bool force_fg = rng.chance(o.p_force_foreground);
  const auto centre = choose_centre(c, patch, force_fg, mix_seed(seed, 1), o.class_sampling);
  if (!o.enabled) {
    auto s = extract_patch(c, patch, centre, identity());
    s.forced_foreground = force_fg;
    return s;
  }
  // Spatial: rotation (in mm), scaling, optional elastic displacement.
  Mat3 m = identity();
  bool spatial = false;
  if (rng.chance(o.p_rotation)) {
    spatial = true;
    Mat3 r = identity();
    if (o.lowres_axis >= 0) {
      r = rotation(o.lowres_axis, rng.uniform(-kPi, kPi));
    } else {
      const double lim = o.max_rotation_deg * kPi / 180.0;
      for (int a = 0; a < 3; ++a) r = mul(rotation(a, rng.uniform(-lim, lim)), r);
    }
    // voxel offsets -> mm -> rotate -> voxels
    Mat3 to_mm{o.spacing_mm[0], 0, 0, 0, o.spacing_mm[1], 0, 0, 0, o.spacing_mm[2]};
    Mat3 to_vox{1 / o.spacing_mm[0], 0, 0, 0, 1 / o.spacing_mm[1], 0, 0, 0, 1 / o.spacing_mm[2]};
    m = mul(to_vox, mul(r, to_mm));
  }
  if (rng.chance(o.p_scale)) {
    spatial = true;
    const double s = rng.uniform(o.scale_min, o.scale_max);
    for (auto& v : m) v *= s;
  }
  at::Tensor displacement;
  if (rng.chance(o.p_elastic)) {
    spatial = true;
    auto gen = at::detail::createCPUGenerator(mix_seed(seed, 2));
    const int64_t g = std::max<int64_t>(2, int64_t(o.elastic_grid));
    auto coarse = torch::randn({1, 3, g, g, g}, gen, torch::kFloat) * float(o.elastic_alpha_vox);
    if (o.lowres_axis >= 0) coarse.select(1, o.lowres_axis).zero_();
    auto fine = F::interpolate(coarse, F::InterpolateFuncOptions()
                                           .size(std::vector<int64_t>{patch[0], patch[1], patch[2]})
                                           .mode(torch::kTrilinear)
                                           .align_corners(true));
    displacement = fine.squeeze(0).permute({1, 2, 3, 0}).contiguous();
  }
  Sample s = spatial ? extract_patch(c, patch, centre, m, displacement) : extract_patch(c, patch, centre, identity());
  s.forced_foreground = force_fg;
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 3));
  auto& x = s.image;
  const int64_t channels = x.size(0);
  if (rng.chance(o.p_noise)) {
    const double var = rng.uniform(0, o.noise_variance_max);
    x = x + torch::randn(x.sizes(), gen, torch::kFloat) * float(std::sqrt(var));
  }
  if (rng.chance(o.p_blur)) {
    for (int64_t ch = 0; ch < channels; ++ch)
      if (rng.chance(0.5)) x[ch] = blur(x[ch], rng.uniform(o.blur_sigma_min, o.blur_sigma_max), o.lowres_axis);
  }
  if (rng.chance(o.p_brightness)) x = x * float(rng.uniform(o.brightness_min, o.brightness_max));
  if (rng.chance(o.p_contrast)) {
    for (int64_t ch = 0; ch < channels; ++ch) {
      auto v = x[ch];
      const float f = float(rng.uniform(o.contrast_min, o.contrast_max));
      const auto mean = v.mean(), mn = v.min(), mx = v.max();
      x[ch] = torch::clamp((v - mean) * f + mean, mn, mx);
    }
  }
  if (rng.chance(o.p_lowres)) {
    for (int64_t ch = 0; ch < channels; ++ch) {
      const double zoom = rng.uniform(o.lowres_min, 1.0);
      std::vector<int64_t> small;
      for (int a = 0; a < 3; ++a)
        small.push_back(a == o.lowres_axis ? patch[size_t(a)] : std::max<int64_t>(1, std::llround(patch[size_t(a)] * zoom)));
      auto v = x[ch].unsqueeze(0).unsqueeze(0);
      auto down = F::interpolate(v, F::InterpolateFuncOptions().size(small).mode(torch::kNearest));
      auto up = F::interpolate(down, F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{patch[0], patch[1], patch[2]})
                                         .mode(torch::kTrilinear)
                                         .align_corners(false));
      x[ch] = up.squeeze(0).squeeze(0);
    }
  }
  auto gamma = [&](bool invert) {
    for (int64_t ch = 0; ch < channels; ++ch) {
      auto v = invert ? -x[ch] : x[ch];
      const double g = rng.chance(0.5) ? rng.uniform(o.gamma_min, 1.0) : rng.uniform(1.0, o.gamma_max);
      const auto mean = v.mean(), sd = v.std();
      const auto mn = v.min(), range = v.max() - mn;
      auto r = torch::pow((v - mn) / (range + 1e-7f), float(g)) * (range + 1e-7f) + mn;
      r = (r - r.mean()) / (r.std() + 1e-8f) * sd + mean;  // keep mean and std
      x[ch] = invert ? -r : r;
    }
  };
  if (rng.chance(o.p_gamma_inverted)) gamma(true);
  if (rng.chance(o.p_gamma)) gamma(false);
  std::vector<int64_t> flips;
  for (int a : o.mirror_axes)
    if (rng.chance(o.p_mirror)) flips.push_back(a);
  if (!flips.empty()) {
    std::vector<int64_t> img_dims;
    for (auto a : flips) img_dims.push_back(a + 1);
    x = x.flip(img_dims);
    s.label = s.label.flip(flips);
  }
  s.image = x.contiguous();
  s.label = s.label.contiguous();
  return s;
}

std::pair<at::Tensor, at::Tensor> collate(const std::vector<Sample>& samples) {
  std::vector<at::Tensor> imgs, labs;
  for (const auto& s : samples) {
    imgs.push_back(s.image);
    labs.push_back(s.label);
  }
  return {torch::stack(imgs), torch::stack(labs)};
}

}  // namespace voxseg::train
