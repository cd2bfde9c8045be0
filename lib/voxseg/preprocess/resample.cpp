#include "voxseg/preprocess/resample.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>

#include "voxseg/core/error.h"

namespace voxseg::preprocess {
namespace {

// scipy pads with the edge value before the cubic prefilter when mode is 'nearest'
// (ndimage._interpolation._prepad_for_spline_filter); the padding makes the boundary rule irrelevant.
constexpr int64_t kSplinePad = 12;
constexpr int64_t kBlock = 256;  // columns processed together

double round_half_even(double v) { return std::nearbyint(v); }

// In-place cubic B-spline prefilter of `n` rows of `b` columns (row-major [n][b]); mirror boundary
// (scipy's _init_causal_mirror / _init_anticausal_mirror), gain 6.
void cubic_prefilter(double* c, int64_t n, int64_t b) {
  if (n < 2) return;
  const double z = std::sqrt(3.0) - 2.0;
  for (int64_t i = 0; i < n * b; ++i) c[i] *= 6.0;
  const double zn1 = std::pow(z, double(n - 1));
  for (int64_t k = 0; k < b; ++k) {
    double c0 = c[k] + zn1 * c[(n - 1) * b + k];
    double zi = z;
    for (int64_t i = 1; i < n - 1; ++i) {
      c0 += zi * (c[i * b + k] + zn1 * c[(n - 1 - i) * b + k]);
      zi *= z;
      if (std::abs(zi) < 1e-30) break;  // the remaining terms cannot change a double
    }
    c[k] = c0 / (1 - zn1 * zn1);
  }
  for (int64_t i = 1; i < n; ++i)
    for (int64_t k = 0; k < b; ++k) c[i * b + k] += z * c[(i - 1) * b + k];
  for (int64_t k = 0; k < b; ++k)
    c[(n - 1) * b + k] = (z * c[(n - 2) * b + k] + c[(n - 1) * b + k]) * z / (z * z - 1);
  for (int64_t i = n - 2; i >= 0; --i)
    for (int64_t k = 0; k < b; ++k) c[i * b + k] = z * (c[(i + 1) * b + k] - c[i * b + k]);
}

}  // namespace

SeparateZ decide_separate_z(const std::array<double, 3>& current, const std::array<double, 3>& target,
                            const ResampleOptions& options) {
  auto anisotropic = [&](const std::array<double, 3>& s) {
    return *std::max_element(s.begin(), s.end()) / *std::min_element(s.begin(), s.end()) >
           options.anisotropy_threshold;
  };
  auto lowres_axes = [](const std::array<double, 3>& s) {
    std::vector<int> axes;
    const double mx = *std::max_element(s.begin(), s.end());
    for (int a = 0; a < 3; ++a)
      if (mx / s[size_t(a)] == 1) axes.push_back(a);
    return axes;
  };
  SeparateZ out;
  std::vector<int> axes;
  if (options.force_separate_z.has_value()) {
    out.separate = *options.force_separate_z;
    if (out.separate) axes = lowres_axes(current);
  } else if (anisotropic(current)) {
    out.separate = true;
    axes = lowres_axes(current);
  } else if (anisotropic(target)) {
    out.separate = true;
    axes = lowres_axes(target);
  }
  if (out.separate) {
    if (axes.size() == 1) {
      out.axis = axes[0];
    } else {  // two or three axes share the largest spacing: nnU-Net resamples jointly
      out.separate = false;
    }
  }
  return out;
}

std::array<int, 3> axis_orders(const std::array<double, 3>& current, const std::array<double, 3>& target,
                               const ResampleOptions& options) {
  const SeparateZ sep = decide_separate_z(current, target, options);
  std::array<int, 3> orders{options.order, options.order, options.order};
  if (sep.separate) orders[size_t(sep.axis)] = options.order_z;
  return orders;
}

std::array<int64_t, 3> compute_new_shape(const std::array<int64_t, 3>& shape, const std::array<double, 3>& old_spacing,
                                         const std::array<double, 3>& new_spacing) {
  std::array<int64_t, 3> out{};
  for (size_t a = 0; a < 3; ++a)
    out[a] = std::max<int64_t>(1, int64_t(round_half_even(old_spacing[a] / new_spacing[a] * double(shape[a]))));
  return out;
}

double source_coordinate(int64_t j, int64_t in_len, int64_t out_len) {
  const double scale = double(in_len) / double(out_len);
  return (double(j) + 0.5) * scale - 0.5;
}

std::vector<LinearTap> linear_taps(int64_t in_len, int64_t out_len, int order) {
  if (order != 0 && order != 1) fail(ExitCode::Internal, "linear_taps: order {} (0 or 1)", order);
  std::vector<LinearTap> taps(static_cast<size_t>(out_len));
  for (int64_t j = 0; j < out_len; ++j) {
    double c = std::min(std::max(source_coordinate(j, in_len, out_len), 0.0), double(in_len - 1));
    LinearTap t;
    if (order == 0) {
      t.i0 = t.i1 = std::min<int64_t>(int64_t(std::floor(c + 0.5)), in_len - 1);
    } else {
      t.i0 = int64_t(std::floor(c));
      t.i1 = std::min(t.i0 + 1, in_len - 1);
      const double w = c - double(t.i0);
      t.w1 = float(w);
      t.w0 = float(1.0 - w);
    }
    taps[size_t(j)] = t;
  }
  return taps;
}

void blend_rows(const float* a, const float* b, float* out, int64_t n, const LinearTap& t, int order) {
  if (order == 0 || t.w1 == 0.0f) {
    std::copy(a, a + n, out);
    return;
  }
  const double w0 = t.w0, w1 = t.w1;
  for (int64_t k = 0; k < n; ++k) out[k] = float(w0 * a[k] + w1 * b[k]);
}

at::Tensor resample_axis(const at::Tensor& data, int64_t axis, int64_t new_len, int order) {
  if (order != 0 && order != 1 && order != 3)
    fail(ExitCode::BadModel, "interpolation order {} is not supported (0, 1 or 3)", order);
  const int64_t n = data.size(axis);
  if (n == new_len) return data;
  const at::Tensor in = data.to(at::kFloat).contiguous();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in.size(d);
  for (int64_t d = axis + 1; d < in.dim(); ++d) inner *= in.size(d);
  auto sizes = in.sizes().vec();
  sizes[size_t(axis)] = new_len;
  at::Tensor out = at::empty(sizes, in.options());
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const int64_t blocks = (inner + kBlock - 1) / kBlock;

  if (order <= 1) {
    const auto taps = linear_taps(n, new_len, order);
    at::parallel_for(0, outer * blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task) {
        const int64_t o = task / blocks, k0 = (task % blocks) * kBlock, b = std::min(kBlock, inner - k0);
        const float* s = src + o * n * inner + k0;
        float* d = dst + o * new_len * inner + k0;
        for (int64_t j = 0; j < new_len; ++j) {
          const LinearTap& t = taps[size_t(j)];
          blend_rows(s + t.i0 * inner, s + t.i1 * inner, d + j * inner, b, t, order);
        }
      }
    });
    return out;
  }

  // Cubic B-spline: pad with edge values, prefilter, evaluate four taps per output sample.
  const int64_t np = n + 2 * kSplinePad;
  std::vector<int64_t> start(static_cast<size_t>(new_len));
  std::vector<std::array<double, 4>> weight(static_cast<size_t>(new_len));
  for (int64_t j = 0; j < new_len; ++j) {
    double c = source_coordinate(j, n, new_len) + double(kSplinePad);
    c = std::min(std::max(c, 0.0), double(np - 1));
    const double f = std::floor(c), t = c - f;
    start[size_t(j)] = int64_t(f) - 1;
    weight[size_t(j)] = {(1 - t) * (1 - t) * (1 - t) / 6.0, (3 * t * t * t - 6 * t * t + 4) / 6.0,
                         (-3 * t * t * t + 3 * t * t + 3 * t + 1) / 6.0, t * t * t / 6.0};
  }
  at::parallel_for(0, outer * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> coef;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / blocks, k0 = (task % blocks) * kBlock, b = std::min(kBlock, inner - k0);
      coef.assign(size_t(np * b), 0.0);
      const float* s = src + o * n * inner + k0;
      for (int64_t i = 0; i < np; ++i) {
        const int64_t si = std::min(std::max(i - kSplinePad, int64_t(0)), n - 1);
        for (int64_t k = 0; k < b; ++k) coef[size_t(i * b + k)] = s[si * inner + k];
      }
      cubic_prefilter(coef.data(), np, b);
      float* d = dst + o * new_len * inner + k0;
      for (int64_t j = 0; j < new_len; ++j) {
        int64_t idx[4];
        for (int q = 0; q < 4; ++q) idx[q] = std::min(std::max(start[size_t(j)] + q, int64_t(0)), np - 1);
        const auto& w = weight[size_t(j)];
        float* r = d + j * inner;
        for (int64_t k = 0; k < b; ++k)
          r[k] = float(w[0] * coef[size_t(idx[0] * b + k)] + w[1] * coef[size_t(idx[1] * b + k)] +
                       w[2] * coef[size_t(idx[2] * b + k)] + w[3] * coef[size_t(idx[3] * b + k)]);
      }
    }
  });
  return out;
}

at::Tensor resample_to_shape(at::Tensor data, const std::array<int64_t, 3>& new_shape,
                             const std::array<int, 3>& orders) {
  const int64_t first = data.dim() - 3;
  const std::array<int64_t, 3> old_shape{data.size(first), data.size(first + 1), data.size(first + 2)};
  at::Tensor out = data.to(at::kFloat);
  data = at::Tensor();  // `out` (and the caller, unless it moved its tensor in) holds the input
  // Clipping in place is safe on tensors nobody else holds (the resampled ones, or a moved-in input).
  auto clip = [](at::Tensor& t, const at::Tensor& lo, const at::Tensor& hi) {
    if (t.use_count() == 1 && t.storage().use_count() == 1) t.clamp_(lo, hi);
    else t = t.clamp(lo, hi);
  };
  // skimage's resize (which nnU-Net calls) clips its output to the input's value range, so cubic
  // overshoot at sharp edges (e.g. the clipped air/bone plateaus of CT) never leaves it. nnU-Net resizes
  // each channel whole, or, with a separate axis, each slice along that axis (clipped to the slice's own
  // range) before interpolating along it: the same order of operations here.
  int separate = -1;
  if (orders[0] != orders[1] || orders[1] != orders[2])
    for (int a = 0; a < 3; ++a)
      if (orders[size_t(a)] != orders[size_t((a + 1) % 3)] && orders[size_t(a)] != orders[size_t((a + 2) % 3)])
        separate = a;
  std::array<int, 3> axes{0, 1, 2};
  // Shrinking axes first keeps the intermediate small; the result is the same tensor product.
  std::stable_sort(axes.begin(), axes.end(), [&](int a, int b) {
    return double(new_shape[size_t(a)]) / double(old_shape[size_t(a)]) <
           double(new_shape[size_t(b)]) / double(old_shape[size_t(b)]);
  });
  if (separate >= 0) {  // the separate axis last, after the in-plane clip
    std::stable_partition(axes.begin(), axes.end(), [&](int a) { return a != separate; });
  }
  const bool overshoots = std::any_of(axes.begin(), axes.end(), [&](int a) {
    return a != separate && orders[size_t(a)] > 1 && new_shape[size_t(a)] != old_shape[size_t(a)];
  });
  // Value range per channel (first dims) or per channel and slice along the separate axis.
  at::Tensor lo, hi;
  if (overshoots) {
    std::vector<int64_t> reduce;
    for (int a = 0; a < 3; ++a)
      if (a != separate) reduce.push_back(first + a);
    lo = out.amin(reduce, /*keepdim=*/true);
    hi = out.amax(reduce, /*keepdim=*/true);
  }
  for (int a : axes) {
    if (a == separate && overshoots) {
      clip(out, lo, hi);
      lo = hi = at::Tensor();
    }
    out = resample_axis(out, first + a, new_shape[size_t(a)], orders[size_t(a)]);
  }
  if (lo.defined()) clip(out, lo, hi);
  return out.contiguous();
}

}  // namespace voxseg::preprocess
