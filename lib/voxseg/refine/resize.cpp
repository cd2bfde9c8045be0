#include "voxseg/refine/resize.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxseg/core/error.h"

namespace voxseg::refine {
namespace {

// ---- Pillow (Resample.c) ----------------------------------------------------------------------
constexpr int kPrecisionBits = 32 - 8 - 2;

struct PilCoeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output pixel: first input index, count
  std::vector<int> kk;      // fixed-point weights, ksize per output pixel
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

PilCoeffs pil_coeffs(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  PilCoeffs c;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.bounds.resize(size_t(out_size) * 2);
  c.kk.assign(size_t(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < c.ksize; ++x) {
      const double w = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
      c.kk[size_t(xx) * c.ksize + x] = w < 0 ? int(-0.5 + w * (1 << kPrecisionBits)) : int(0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[size_t(xx) * 2] = xmin;
    c.bounds[size_t(xx) * 2 + 1] = xmax;
  }
  return c;
}

uint8_t clip8(int in) {
  if (in >= (1 << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return uint8_t(in >> kPrecisionBits);
}

// One pass along a line of `n` samples `stride` apart.
void pil_pass(const uint8_t* in, int64_t in_stride, uint8_t* out, int64_t out_stride, const PilCoeffs& c,
              int out_size) {
  for (int xx = 0; xx < out_size; ++xx) {
    const int xmin = c.bounds[size_t(xx) * 2], xmax = c.bounds[size_t(xx) * 2 + 1];
    const int* k = &c.kk[size_t(xx) * c.ksize];
    int ss = 1 << (kPrecisionBits - 1);
    for (int x = 0; x < xmax; ++x) ss += int(in[(x + xmin) * in_stride]) * k[x];
    out[xx * out_stride] = clip8(ss);
  }
}

// ---- scipy.ndimage ----------------------------------------------------------------------------
// Whole-sample symmetric index ("mirror": d c b | a b c d | c b a).
int64_t mirror_index(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// scipy's spline_filter1d, order 3, mode "mirror" (ni_splines.c).
void spline_prefilter(double* c, int64_t n) {
  if (n == 1) return;
  const double z = std::sqrt(3.0) - 2.0;
  const double lambda = (1 - z) * (1 - 1 / z);
  for (int64_t i = 0; i < n; ++i) c[i] *= lambda;
  // causal init (mirror)
  double z_i = z;
  const double z_n_1 = std::pow(z, double(n - 1));
  c[0] = c[0] + z_n_1 * c[n - 1];
  for (int64_t i = 1; i < n - 1; ++i) {
    c[0] += z_i * (c[i] + z_n_1 * c[n - 1 - i]);
    z_i *= z;
  }
  c[0] /= 1 - z_n_1 * z_n_1;
  for (int64_t i = 1; i < n; ++i) c[i] += z * c[i - 1];
  c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1);
  for (int64_t i = n - 2; i >= 0; --i) c[i] = z * (c[i + 1] - c[i]);
}

// Gaussian smoothing along a line (scipy gaussian_filter1d, truncate 4, mode "mirror").
void gaussian_line(const double* in, double* out, int64_t n, double sigma) {
  const int radius = int(4.0 * sigma + 0.5);
  std::vector<double> w(size_t(2 * radius + 1));
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += w[size_t(i + radius)] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& v : w) v /= sum;
  for (int64_t i = 0; i < n; ++i) {
    double acc = 0;
    for (int j = -radius; j <= radius; ++j) acc += w[size_t(j + radius)] * in[mirror_index(i + j, n)];
    out[i] = acc;
  }
}

// Cubic B-spline zoom of one line of prefiltered coefficients (scipy zoom_shift, grid_mode).
void zoom_line(const double* coeff, int64_t n, double* out, int64_t out_n) {
  const double zoom = double(n) / out_n;
  for (int64_t o = 0; o < out_n; ++o) {
    double cc = (o + 0.5) * zoom - 0.5;
    if (n == 1) {
      out[o] = coeff[0];
      continue;
    }
    if (cc < 0 || cc > n - 1) {  // map the coordinate into the image (mirror)
      const double period = 2.0 * n - 2.0;
      if (cc < 0) cc = -cc;
      cc = std::fmod(cc, period);
      if (cc > n - 1) cc = period - cc;
    }
    const double fl = std::floor(cc);
    const double t = cc - fl;
    const double w[4] = {(1 - t) * (1 - t) * (1 - t) / 6.0, (4 - 6 * t * t + 3 * t * t * t) / 6.0,
                         (1 + 3 * t + 3 * t * t - 3 * t * t * t) / 6.0, t * t * t / 6.0};
    const int64_t start = int64_t(fl) - 1;
    double acc = 0;
    for (int k = 0; k < 4; ++k) acc += w[k] * coeff[mirror_index(start + k, n)];
    out[o] = acc;
  }
}

}  // namespace

at::Tensor pil_resize_bilinear(const at::Tensor& image, int64_t out_h, int64_t out_w) {
  if (image.dim() != 3 || image.scalar_type() != at::kByte)
    fail(ExitCode::Internal, "pil_resize_bilinear: expected uint8 [C,H,W]");
  if (out_h < 1 || out_w < 1) fail(ExitCode::Internal, "pil_resize_bilinear: empty output size");
  const at::Tensor in = image.cpu().contiguous();
  const int64_t channels = in.size(0), h = in.size(1), w = in.size(2);
  // Horizontal pass (skipped when the width is unchanged, as Pillow does), then vertical.
  at::Tensor mid = in;
  if (out_w != w) {
    const PilCoeffs c = pil_coeffs(int(w), int(out_w));
    mid = at::empty({channels, h, out_w}, at::kByte);
    for (int64_t ch = 0; ch < channels; ++ch)
      for (int64_t y = 0; y < h; ++y)
        pil_pass(in.data_ptr<uint8_t>() + (ch * h + y) * w, 1, mid.data_ptr<uint8_t>() + (ch * h + y) * out_w, 1, c,
                 int(out_w));
  }
  if (out_h == h) return mid.clone();
  const PilCoeffs c = pil_coeffs(int(h), int(out_h));
  at::Tensor out = at::empty({channels, out_h, out_w}, at::kByte);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t x = 0; x < out_w; ++x)
      pil_pass(mid.data_ptr<uint8_t>() + ch * h * out_w + x, out_w, out.data_ptr<uint8_t>() + ch * out_h * out_w + x,
               out_w, c, int(out_h));
  return out;
}

at::Tensor skimage_resize_cubic(const at::Tensor& image, int64_t out_h, int64_t out_w) {
  if (image.dim() != 3) fail(ExitCode::Internal, "skimage_resize_cubic: expected [C,H,W]");
  at::Tensor work = image.to(at::kDouble).cpu().contiguous().clone();
  const int64_t channels = work.size(0), h = work.size(1), w = work.size(2);
  const double lo = work.min().item<double>(), hi = work.max().item<double>();
  double* data = work.data_ptr<double>();
  const double sigma_y = std::max(0.0, (double(h) / out_h - 1) / 2), sigma_x = std::max(0.0, (double(w) / out_w - 1) / 2);
  std::vector<double> line, tmp;
  // Anti-aliasing (only when shrinking an axis), then the spline prefilter, per axis.
  for (int64_t ch = 0; ch < channels; ++ch) {
    double* img = data + ch * h * w;
    line.resize(size_t(std::max(h, w)));
    tmp.resize(line.size());
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t n = axis == 0 ? h : w, lines = axis == 0 ? w : h, stride = axis == 0 ? w : 1,
                    step = axis == 0 ? 1 : w;
      const double sigma = axis == 0 ? sigma_y : sigma_x;
      if (sigma <= 1e-15) continue;
      for (int64_t l = 0; l < lines; ++l) {
        for (int64_t i = 0; i < n; ++i) line[size_t(i)] = img[l * step + i * stride];
        gaussian_line(line.data(), tmp.data(), n, sigma);
        for (int64_t i = 0; i < n; ++i) img[l * step + i * stride] = tmp[size_t(i)];
      }
    }
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t n = axis == 0 ? h : w, lines = axis == 0 ? w : h, stride = axis == 0 ? w : 1,
                    step = axis == 0 ? 1 : w;
      for (int64_t l = 0; l < lines; ++l) {
        for (int64_t i = 0; i < n; ++i) line[size_t(i)] = img[l * step + i * stride];
        spline_prefilter(line.data(), n);
        for (int64_t i = 0; i < n; ++i) img[l * step + i * stride] = line[size_t(i)];
      }
    }
  }
  // Separable zoom: rows (x) first into [C,H,out_w], then columns (y).
  at::Tensor mid = at::empty({channels, h, out_w}, at::kDouble);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t y = 0; y < h; ++y)
      zoom_line(data + (ch * h + y) * w, w, mid.data_ptr<double>() + (ch * h + y) * out_w, out_w);
  at::Tensor out = at::empty({channels, out_h, out_w}, at::kDouble);
  line.resize(size_t(h));
  tmp.resize(size_t(out_h));
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t x = 0; x < out_w; ++x) {
      const double* m = mid.data_ptr<double>() + ch * h * out_w;
      for (int64_t y = 0; y < h; ++y) line[size_t(y)] = m[y * out_w + x];
      zoom_line(line.data(), h, tmp.data(), out_h);
      double* o = out.data_ptr<double>() + ch * out_h * out_w;
      for (int64_t y = 0; y < out_h; ++y) o[y * out_w + x] = std::clamp(tmp[size_t(y)], lo, hi);
    }
  return out;
}

}  // namespace voxseg::refine
