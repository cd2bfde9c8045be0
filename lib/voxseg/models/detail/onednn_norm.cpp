#include "voxseg/models/detail/onednn_norm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace voxseg::models::detail {
namespace {

inline float load(const float* p) { return *p; }
inline float load(const uint16_t* p) {
  const uint32_t u = uint32_t(*p) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline void store(float* p, float v) { *p = v; }
// Round to nearest even, NaN kept quiet (as c10::BFloat16); branch-free so that loops vectorize.
inline void store(uint16_t* p, float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  *p = uint16_t((u & 0x7fffffffu) > 0x7f800000u ? 0x7fc0u : rounded);
}
// LeakyReLU without a branch (max/min vectorize; the same value as v < 0 ? v * slope : v).
inline float leaky_relu(float v, float slope) { return std::max(v, 0.f) + slope * std::min(v, 0.f); }

// Per-channel sum and sum of squares of one sample, shifted by its first voxel's values (less
// cancellation in E[x^2] - E[x]^2), accumulated in double over voxel chunks run in parallel.
template <typename T>
void channel_moments(const T* x, int64_t voxels, int64_t channels, double eps, double* mean, double* inv_std) {
  std::vector<double> shift(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) shift[size_t(c)] = load(x + c);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(voxels / 512, 4 * int64_t(at::get_num_threads())));
  std::vector<double> partial(size_t(2 * chunks * channels), 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> shift_f(shift.begin(), shift.end());
    for (int64_t k = begin; k < end; ++k) {
      double* s = partial.data() + 2 * k * channels;
      double* q = s + channels;
      const int64_t v0 = voxels * k / chunks, v1 = voxels * (k + 1) / chunks;
      // float partials over short runs (exact enough: at most 64 terms), flushed into double.
      std::vector<float> fs_buf(static_cast<size_t>(channels)), fq_buf(static_cast<size_t>(channels));
      float* __restrict fs = fs_buf.data();
      float* __restrict fq = fq_buf.data();
      const float* __restrict sh = shift_f.data();
      for (int64_t v = v0; v < v1; v += 64) {
        std::fill(fs, fs + channels, 0.f);
        std::fill(fq, fq + channels, 0.f);
        const int64_t vend = std::min(v1, v + 64);
        for (int64_t i = v; i < vend; ++i) {
          const T* __restrict row = x + i * channels;
          for (int64_t c = 0; c < channels; ++c) {
            const float d = load(row + c) - sh[c];
            fs[c] += d;
            fq[c] += d * d;
          }
        }
        for (int64_t c = 0; c < channels; ++c) {
          s[c] += fs[c];
          q[c] += fq[c];
        }
      }
    }
  });
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0, q = 0;
    for (int64_t k = 0; k < chunks; ++k) {
      s += partial[size_t(2 * k * channels + c)];
      q += partial[size_t((2 * k + 1) * channels + c)];
    }
    const double m = s / double(voxels);
    const double var = std::max(0.0, q / double(voxels) - m * m);
    mean[c] = shift[size_t(c)] + m;
    inv_std[c] = 1.0 / std::sqrt(var + eps);
  }
}

template <typename T>
void apply(T* x, const T* residual, int64_t batch, int64_t voxels, int64_t channels, const float* scale,
           const float* shift, bool leaky, float slope) {
  at::parallel_for(0, batch * voxels, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t n = i / voxels, stop = std::min(end, (n + 1) * voxels);
      const float* __restrict sc = scale + n * channels;
      const float* __restrict sh = shift + n * channels;
      for (; i < stop; ++i) {
        T* __restrict row = x + i * channels;
        if (residual) {
          const T* __restrict res = residual + i * channels;
          for (int64_t c = 0; c < channels; ++c) {
            const float v = load(row + c) * sc[c] + sh[c] + load(res + c);
            store(row + c, leaky ? leaky_relu(v, slope) : v);
          }
        } else if (leaky) {
          for (int64_t c = 0; c < channels; ++c) {
            store(row + c, leaky_relu(load(row + c) * sc[c] + sh[c], slope));
          }
        } else {
          for (int64_t c = 0; c < channels; ++c) store(row + c, load(row + c) * sc[c] + sh[c]);
        }
      }
    }
  });
}

template <typename T>
void run(const ChannelsLast& x, const NormAct& op) {
  const int64_t n = x.batch, v = x.voxels, c = x.channels;
  T* data = static_cast<T*>(x.data);
  std::vector<float> scale(size_t(n * c), 1.f), shift(size_t(n * c), 0.f);
  std::vector<double> mean(static_cast<size_t>(c)), inv_std(static_cast<size_t>(c));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t k = 0; k < c; ++k) {
      scale[size_t(s * c + k)] = op.gamma ? op.gamma[k] : 1.f;
      shift[size_t(s * c + k)] = op.beta ? op.beta[k] : 0.f;
    }
  if (op.instance)
    for (int64_t s = 0; s < n; ++s) {
      channel_moments(data + s * v * c, v, c, op.eps, mean.data(), inv_std.data());
      for (int64_t k = 0; k < c; ++k) {
        const double g = (op.gamma ? op.gamma[k] : 1.0) * inv_std[size_t(k)];
        scale[size_t(s * c + k)] = float(g);
        shift[size_t(s * c + k)] = float((op.beta ? op.beta[k] : 0.0) - mean[size_t(k)] * g);
      }
    }
  const T* res = op.residual ? static_cast<const T*>(op.residual->data) : nullptr;
  apply(data, res, n, v, c, scale.data(), shift.data(), op.leaky, op.slope);
}

}  // namespace

void norm_act_inplace(const ChannelsLast& x, const NormAct& op) {
  if (x.bf16) run<uint16_t>(x, op);
  else run<float>(x, op);
}

}  // namespace voxseg::models::detail
