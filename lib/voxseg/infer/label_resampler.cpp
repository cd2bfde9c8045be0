#include "voxseg/infer/label_resampler.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "voxseg/core/error.h"

namespace voxseg::infer {
namespace {

// Whether a tap reads its second sample (blend_rows copies the first for order 0 or w1 == 0).
bool reads_second(const preprocess::LinearTap& t, int order) { return order == 1 && t.w1 != 0.0f; }

// blend_rows' arithmetic for one value.
float blend(float a, float b, const preprocess::LinearTap& t) {
  return float(double(t.w0) * double(a) + double(t.w1) * double(b));
}

}  // namespace

LabelResampler::LabelResampler(std::array<int64_t, 3> in, std::array<int64_t, 3> out, std::array<int, 3> orders,
                               std::vector<int64_t> values, Emit emit)
    : in_(in), out_(out), orders_(orders), values_(std::move(values)), emit_(std::move(emit)) {
  for (int a = 0; a < 3; ++a)
    if (orders_[size_t(a)] != 0 && orders_[size_t(a)] != 1)
      fail(ExitCode::Internal, "LabelResampler: order {} on axis {} (0 or 1)", orders_[size_t(a)], a);
  taps_z_ = preprocess::linear_taps(in[0], out[0], orders[0]);
  taps_y_ = preprocess::linear_taps(in[1], out[1], orders[1]);
  taps_x_ = preprocess::linear_taps(in[2], out[2], orders[2]);
}

void LabelResampler::push(int64_t z, const at::Tensor& logits) {
  const int64_t k = logits.size(0), pixels = in_[1] * in_[2];
  if (k != int64_t(values_.size()) || logits.size(1) != in_[1] || logits.size(2) != in_[2])
    fail(ExitCode::Internal, "LabelResampler: slice of {} channels for {} labels", k, values_.size());
  Slice s;
  s.channels_last = logits.to(at::kFloat).permute({1, 2, 0}).contiguous();
  s.winner.resize(size_t(pixels));
  const float* data = s.channels_last.data_ptr<float>();
  at::parallel_for(0, pixels, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* v = data + p * k;
      int32_t best = 0;
      for (int64_t c = 1; c < k; ++c)
        if (v[c] > v[best]) best = int32_t(c);
      s.winner[size_t(p)] = best;
    }
  });
  cache_[z] = std::move(s);
  while (next_ < out_[0] && taps_z_[size_t(next_)].i1 <= z) {
    emit_(next_, label_slice(taps_z_[size_t(next_)]));
    ++next_;
  }
  const int64_t keep_from = next_ < out_[0] ? taps_z_[size_t(next_)].i0 : INT64_MAX;
  while (!cache_.empty() && cache_.begin()->first < keep_from) cache_.erase(cache_.begin());
}

at::Tensor LabelResampler::label_slice(const preprocess::LinearTap& tz) {
  const int64_t k = int64_t(values_.size()), width = in_[2];
  const bool z1 = reads_second(tz, orders_[0]);
  const Slice* planes[2] = {&cache_.at(tz.i0), z1 ? &cache_.at(tz.i1) : nullptr};
  const int nz = z1 ? 2 : 1;
  at::Tensor labels = at::empty({out_[1], out_[2]}, at::kLong);
  int64_t* dst = labels.data_ptr<int64_t>();
  std::vector<int64_t> interpolated(size_t(out_[1]), 0);

  at::parallel_for(0, out_[1], 4, [&](int64_t begin, int64_t end) {
    // Per z plane, the output row's y-blend at every network column (what resample_axis along y
    // computes for this row), made only for rows that need any interpolation.
    std::vector<float> row(size_t(nz * width * k));
    std::vector<float> value(static_cast<size_t>(k));
    for (int64_t yo = begin; yo < end; ++yo) {
      const preprocess::LinearTap& ty = taps_y_[size_t(yo)];
      const bool y1 = reads_second(ty, orders_[1]);
      const int ny = y1 ? 2 : 1;
      const int64_t rows[2] = {ty.i0, ty.i1};
      bool row_ready = false;
      for (int64_t xo = 0; xo < out_[2]; ++xo) {
        const preprocess::LinearTap& tx = taps_x_[size_t(xo)];
        const bool x1 = reads_second(tx, orders_[2]);
        const int nx = x1 ? 2 : 1;
        const int64_t cols[2] = {tx.i0, tx.i1};
        // The neighbours' winners: one class everywhere decides the voxel.
        const int32_t first = planes[0]->winner[size_t(rows[0] * width + cols[0])];
        bool agree = true;
        for (int zi = 0; zi < nz && agree; ++zi)
          for (int yi = 0; yi < ny && agree; ++yi)
            for (int xi = 0; xi < nx && agree; ++xi)
              agree = planes[zi]->winner[size_t(rows[yi] * width + cols[xi])] == first;
        if (agree) {
          dst[yo * out_[2] + xo] = values_[size_t(first)];
          continue;
        }
        ++interpolated[size_t(yo)];
        if (!row_ready) {
          for (int zi = 0; zi < nz; ++zi) {
            const float* a = planes[zi]->channels_last.data_ptr<float>() + rows[0] * width * k;
            const float* b = planes[zi]->channels_last.data_ptr<float>() + rows[1] * width * k;
            float* r = row.data() + zi * width * k;
            for (int64_t i = 0; i < width * k; ++i) r[i] = y1 ? blend(a[i], b[i], ty) : a[i];
          }
          row_ready = true;
        }
        // Then x (axis 2), then z, as resample_axis and blend_rows do.
        const float* p0 = row.data() + cols[0] * k;
        const float* p1 = row.data() + cols[1] * k;
        for (int64_t c = 0; c < k; ++c) value[size_t(c)] = nx == 2 ? blend(p0[c], p1[c], tx) : p0[c];
        if (nz == 2) {
          const float* q0 = p0 + width * k;
          const float* q1 = p1 + width * k;
          for (int64_t c = 0; c < k; ++c)
            value[size_t(c)] = blend(value[size_t(c)], nx == 2 ? blend(q0[c], q1[c], tx) : q0[c], tz);
        }
        int64_t best = 0;
        for (int64_t c = 1; c < k; ++c)
          if (value[size_t(c)] > value[size_t(best)]) best = c;
        dst[yo * out_[2] + xo] = values_[size_t(best)];
      }
    }
  });
  for (int64_t n : interpolated) interpolated_ += n;
  return labels;
}

}  // namespace voxseg::infer
