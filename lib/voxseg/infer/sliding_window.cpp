#include "voxseg/infer/sliding_window.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include <fmt/ranges.h>

#include "voxseg/core/error.h"

namespace voxseg::infer {
namespace {

using Clock = std::chrono::steady_clock;

// One 1D profile of nnU-Net's importance map: scipy's gaussian_filter1d of an impulse at c = n // 2,
// i.e. the normalized kernel exp(-x^2 / 2 sigma^2) for |x| <= int(4 sigma + 0.5), 0 beyond.
std::vector<double> gaussian_profile(int64_t n, double sigma) {
  std::vector<double> p(static_cast<size_t>(n), 0.0);
  if (sigma <= 0) {
    p[size_t(n / 2)] = 1.0;
    return p;
  }
  const int64_t radius = int64_t(4.0 * sigma + 0.5);
  double sum = 0;
  for (int64_t x = -radius; x <= radius; ++x) sum += std::exp(-0.5 * double(x * x) / (sigma * sigma));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x = i - n / 2;
    if (std::abs(x) <= radius) p[size_t(i)] = std::exp(-0.5 * double(x * x) / (sigma * sigma)) / sum;
  }
  return p;
}

// Mirror combinations in nnU-Net's order: none, all single axes, then pairs, then the triple
// (itertools.combinations).
std::vector<std::vector<int64_t>> mirror_combinations(const std::vector<int64_t>& mirror_dims) {
  std::vector<std::vector<int64_t>> combos{{}};
  const size_t m = mirror_dims.size();
  for (size_t k = 1; k <= m; ++k) {
    std::vector<bool> pick(m, false);
    std::fill(pick.begin(), pick.begin() + long(k), true);
    do {
      std::vector<int64_t> c;
      for (size_t i = 0; i < m; ++i)
        if (pick[i]) c.push_back(mirror_dims[i]);
      combos.push_back(c);
    } while (std::prev_permutation(pick.begin(), pick.end()));
  }
  return combos;
}

// Sums the networks' logits for a batch with mirroring TTA, divided by the number of passes.
// `copies` mirrored copies of the batch go through the network as one batch ([copy0 tiles, copy1
// tiles, ...]); each copy's logits are un-mirrored and summed in the combinations' order, so the
// result is what one pass per mirror gives (up to the network's own batch-size rounding).
at::Tensor predict_batch(const at::Tensor& batch, const std::vector<std::shared_ptr<models::Network>>& networks,
                         const std::vector<std::vector<int64_t>>& combos, int64_t copies, WindowStats& stats) {
  const int64_t b = batch.size(0);
  at::Tensor total;
  for (const auto& net : networks) {
    at::Tensor sum;
    for (size_t first = 0; first < combos.size(); first += size_t(copies)) {
      const size_t last = std::min(combos.size(), first + size_t(copies));
      const auto t0 = Clock::now();
      at::Tensor x;
      if (last - first == 1) {
        x = combos[first].empty() ? batch : torch::flip(batch, combos[first]);
      } else {
        std::vector<at::Tensor> parts;
        for (size_t c = first; c < last; ++c) parts.push_back(combos[c].empty() ? batch : torch::flip(batch, combos[c]));
        x = torch::cat(parts, 0);
      }
      at::Tensor y = net->forward(x).to(torch::kCPU, torch::kFloat);
      stats.network_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      ++stats.forward_passes;
      stats.voxels_forwarded += x.numel() / x.size(1);
      if (y.dim() < 1 || y.size(0) != x.size(0))
        fail(ExitCode::BadModel, "the network returned logits of shape {} for a batch of {} tiles",
             fmt::join(y.sizes().vec(), "x"), x.size(0));
      for (size_t c = first; c < last; ++c) {
        at::Tensor yc = last - first == 1 ? std::move(y) : y.narrow(0, int64_t(c - first) * b, b);
        if (!combos[c].empty()) yc = torch::flip(yc, combos[c]);  // a new tensor
        if (sum.defined()) {
          sum.add_(yc);
        } else {
          // The caller scales the sum in place: copy only what the network may still hold (or a
          // view into a larger batch's logits).
          const bool owned = yc.is_contiguous() && yc.use_count() == 1 && yc.storage().use_count() == 1;
          sum = owned ? yc : yc.contiguous().clone();
        }
      }
    }
    sum.div_(double(combos.size()));
    if (total.defined()) total.add_(sum); else total = sum;
  }
  if (networks.size() > 1) total.div_(double(networks.size()));
  return total;
}

struct SliceAccumulator {
  at::Tensor logits;  // [K, Yp, Xp], float32 or float16
  at::Tensor weight;  // [Yp, Xp], float32
};

}  // namespace

Accumulator parse_accumulator(const std::string& text) {
  if (text == "auto") return Accumulator::Auto;
  if (text == "fp32" || text == "float32") return Accumulator::Float32;
  if (text == "fp16" || text == "float16") return Accumulator::Float16;
  fail(ExitCode::Usage, "unknown accumulator '{}' (expected auto, fp32 or fp16)", text);
}

const char* accumulator_name(Accumulator a) {
  switch (a) {
    case Accumulator::Auto: return "auto";
    case Accumulator::Float32: return "fp32";
    case Accumulator::Float16: return "fp16";
  }
  return "?";
}

int64_t mirror_copies_per_forward(int64_t requested, int64_t combinations, int64_t batch_tiles, int64_t tile_voxels,
                                  int64_t classes, const std::string& device) {
  if (combinations <= 1) return 1;
  if (requested > 0) return std::min(requested, combinations);
  if (device.rfind("cuda", 0) != 0) return 1;
  const int64_t per_copy = std::max<int64_t>(1, batch_tiles * tile_voxels * std::max<int64_t>(classes, 32) * 4);
  const int64_t fit = std::clamp<int64_t>(kAutoMirrorBatchBytes / per_copy, 1, combinations);
  const int64_t passes = (combinations + fit - 1) / fit;
  return (combinations + passes - 1) / passes;  // 8 combinations, 7 fit: two passes of 4
}

std::vector<int64_t> tile_starts(int64_t extent, int64_t patch, double step) {
  if (patch <= 0 || extent < patch) fail(ExitCode::Internal, "tile_starts: extent {} < patch {}", extent, patch);
  if (!(step > 0 && step <= 1)) fail(ExitCode::Usage, "--step must be in (0, 1], got {}", step);
  const double target = double(patch) * step;
  const int64_t n = int64_t(std::ceil(double(extent - patch) / target)) + 1;
  std::vector<int64_t> starts;
  const double actual = n > 1 ? double(extent - patch) / double(n - 1) : 0.0;
  for (int64_t i = 0; i < n; ++i) starts.push_back(int64_t(std::nearbyint(actual * double(i))));
  return starts;
}

at::Tensor gaussian_importance_map(const std::vector<int64_t>& patch, double sigma_scale) {
  std::vector<std::vector<double>> prof;
  for (int64_t p : patch) prof.push_back(gaussian_profile(p, double(p) * sigma_scale));
  std::vector<int64_t> shape = patch;
  while (shape.size() < 3) shape.insert(shape.begin(), 1), prof.insert(prof.begin(), std::vector<double>{1.0});
  at::Tensor g = torch::empty(shape, torch::kDouble);
  double* v = g.data_ptr<double>();
  double peak = 0;
  for (int64_t z = 0; z < shape[0]; ++z)
    for (int64_t y = 0; y < shape[1]; ++y)
      for (int64_t x = 0; x < shape[2]; ++x) {
        const double w = prof[0][size_t(z)] * prof[1][size_t(y)] * prof[2][size_t(x)];
        v[(z * shape[1] + y) * shape[2] + x] = w;
        peak = std::max(peak, w);
      }
  at::Tensor f = (g / peak).to(torch::kFloat);
  const at::Tensor zero = f.eq(0);
  if (zero.any().item<bool>()) f.masked_fill_(zero, f.masked_select(zero.logical_not()).min().item<float>());
  return f.reshape(patch);
}

WindowStats sliding_window(const at::Tensor& image, const std::vector<std::shared_ptr<models::Network>>& networks,
                           const WindowOptions& o, const SliceSink& sink, Progress progress) {
  if (networks.empty()) fail(ExitCode::Internal, "sliding_window: no network");
  if (image.dim() != 4 || image.numel() == 0)
    fail(ExitCode::BadInput, "sliding window needs a non-empty [C,Z,Y,X] image");
  const auto& net0 = *networks.front();
  if (image.size(0) != net0.in_channels())
    fail(ExitCode::BadInput, "the model expects {} channel(s), the input has {}", net0.in_channels(), image.size(0));
  const bool is2d = o.patch_size.size() == 2;
  if (!is2d && o.patch_size.size() != 3) fail(ExitCode::BadModel, "patch size needs 2 or 3 entries");
  if (o.batch_size < 1) fail(ExitCode::Usage, "--batch-size must be at least 1");
  if (o.mirror_batch < 0) fail(ExitCode::Usage, "--tta-batch must be 0 (auto) or positive");
  const std::vector<int64_t> patch3 = is2d ? std::vector<int64_t>{1, o.patch_size[0], o.patch_size[1]} : o.patch_size;

  // Centred zero padding to at least the patch (nnU-Net's pad_nd_image: below = diff // 2).
  WindowStats stats;
  std::array<int64_t, 3> size{image.size(1), image.size(2), image.size(3)}, padded{}, lo{};
  for (size_t a = 0; a < 3; ++a) {
    padded[a] = std::max(size[a], patch3[a]);
    lo[a] = (padded[a] - size[a]) / 2;
  }
  stats.padded_shape = {padded[0], padded[1], padded[2]};
  at::Tensor input = image.to(torch::kFloat);
  if (padded != size) {
    at::Tensor p = torch::zeros({image.size(0), padded[0], padded[1], padded[2]}, torch::kFloat);
    p.narrow(1, lo[0], size[0]).narrow(2, lo[1], size[1]).narrow(3, lo[2], size[2]).copy_(input);
    input = p;
  }

  std::vector<int64_t> zs, ys = tile_starts(padded[1], patch3[1], o.step), xs = tile_starts(padded[2], patch3[2], o.step);
  if (is2d) {
    for (int64_t z = 0; z < padded[0]; ++z) zs.push_back(z);
  } else {
    zs = tile_starts(padded[0], patch3[0], o.step);
  }
  struct Tile { int64_t z, y, x; };
  std::vector<Tile> tiles;
  for (int64_t z : zs)
    for (int64_t y : ys)
      for (int64_t x : xs) tiles.push_back({z, y, x});
  stats.tiles = int64_t(tiles.size());
  progress.set_total(stats.tiles);

  const at::Tensor gauss = o.gaussian ? gaussian_importance_map(patch3, o.sigma_scale)
                                      : torch::ones({patch3[0], patch3[1], patch3[2]}, torch::kFloat);
  std::vector<int64_t> mirror_dims;
  if (o.mirror)
    for (int64_t a : o.mirror_axes) {
      if (a < 0 || a >= int64_t(o.patch_size.size()))
        fail(ExitCode::BadModel, "mirror axis {} does not exist for a {}D patch", a, o.patch_size.size());
      mirror_dims.push_back(a + 2);
    }
  const auto combos = mirror_combinations(mirror_dims);
  stats.mirror_copies = mirror_copies_per_forward(o.mirror_batch, int64_t(combos.size()),
                                                  std::min<int64_t>(o.batch_size, int64_t(tiles.size())),
                                                  patch3[0] * patch3[1] * patch3[2], net0.num_classes(), net0.device());

  // Float32 accumulates the Gaussian-weighted sum and divides by the weights at the end. Float16
  // keeps the weighted running mean instead (m += g / W * (p - m), computed in float32, stored once
  // per tile): a weighted sum would underflow float16 where the Gaussian is ~1e-11 (tile corners)
  // and overflow for large logits, the mean stays in the logits' range.
  const int64_t slab_bytes = net0.num_classes() * patch3[0] * padded[1] * padded[2] * int64_t(sizeof(float));
  stats.accumulator = o.accumulator != Accumulator::Auto   ? o.accumulator
                      : slab_bytes > kAutoFloat16SlabBytes ? Accumulator::Float16
                                                           : Accumulator::Float32;
  const bool half = stats.accumulator == Accumulator::Float16;
  constexpr double kHalfMax = 65504.0;

  std::map<int64_t, SliceAccumulator> acc;
  int64_t next_final = 0;  // slices below this were handed to the sink
  auto finalize_below = [&](int64_t limit) {
    while (next_final < limit) {
      auto it = acc.find(next_final);
      const int64_t z = next_final++;
      if (it == acc.end()) continue;  // cannot happen: every slice is covered by a tile
      if (z >= lo[0] && z < lo[0] + size[0]) {
        at::Tensor logits = half ? it->second.logits.to(torch::kFloat) : it->second.logits.div(it->second.weight);
        logits = logits.narrow(1, lo[1], size[1]).narrow(2, lo[2], size[2]).contiguous();
        sink(z - lo[0], logits);
      }
      acc.erase(it);
    }
  };

  int64_t classes = -1;
  for (size_t first = 0; first < tiles.size(); first += size_t(o.batch_size)) {
    const size_t last = std::min(tiles.size(), first + size_t(o.batch_size));
    // Networks return inference tensors, which only InferenceMode may update in place (the tile
    // logits are scaled and accumulated in place, without copies); finalize_below, outside it, only
    // reads them, so the sink gets ordinary tensors.
    {
      c10::InferenceMode inference;
      std::vector<at::Tensor> parts;
      for (size_t i = first; i < last; ++i) {
        const Tile& t = tiles[i];
        at::Tensor part = input.narrow(1, t.z, patch3[0]).narrow(2, t.y, patch3[1]).narrow(3, t.x, patch3[2]);
        parts.push_back(is2d ? part.squeeze(1) : part);
      }
      at::Tensor pred = predict_batch(torch::stack(parts, 0).contiguous(), networks, combos, stats.mirror_copies, stats);
      if (is2d) pred = pred.unsqueeze(2);
      if (pred.dim() != 5 || pred.size(0) != int64_t(parts.size()) || pred.size(2) != patch3[0] ||
          pred.size(3) != patch3[1] || pred.size(4) != patch3[2])
        fail(ExitCode::BadModel, "the network returned logits of shape {} for tiles of {}",
             fmt::join(pred.sizes().vec(), "x"), fmt::join(patch3, "x"));
      if (classes < 0) classes = pred.size(1);
      if (half) pred.clamp_(-kHalfMax, kHalfMax);  // float16's finite range
      else pred.mul_(gauss);                       // [B,K,pz,py,px] * [pz,py,px]
      for (size_t i = first; i < last; ++i) {
        const Tile& t = tiles[i];
        const at::Tensor p = pred[int64_t(i - first)];
        for (int64_t dz = 0; dz < patch3[0]; ++dz) {
          auto it = acc.find(t.z + dz);
          if (it == acc.end()) {
            SliceAccumulator s{torch::zeros({classes, padded[1], padded[2]}, half ? torch::kHalf : torch::kFloat),
                               torch::zeros({padded[1], padded[2]}, torch::kFloat)};
            it = acc.emplace(t.z + dz, std::move(s)).first;
          }
          at::Tensor logits = it->second.logits.narrow(1, t.y, patch3[1]).narrow(2, t.x, patch3[2]);
          at::Tensor weight = it->second.weight.narrow(0, t.y, patch3[1]).narrow(1, t.x, patch3[2]);
          weight.add_(gauss[dz]);
          if (half) logits.add_((p.select(1, dz) - logits).mul_(gauss[dz] / weight));
          else logits.add_(p.select(1, dz));
        }
      }
      stats.max_slices_held = std::max(stats.max_slices_held, int64_t(acc.size()));
      const int64_t slice_bytes = (classes * (half ? 2 : 4) + 4) * padded[1] * padded[2];
      stats.accumulator_bytes = std::max(stats.accumulator_bytes, int64_t(acc.size()) * slice_bytes);
    }
    if (o.stream) finalize_below(last < tiles.size() ? tiles[last].z : padded[0]);
    progress.advance(int64_t(last - first));
  }
  models::release_inference_buffers();  // the engine's activations, before the last slices and what follows
  finalize_below(padded[0]);
  return stats;
}

at::Tensor sliding_window_logits(const at::Tensor& image, const std::vector<std::shared_ptr<models::Network>>& networks,
                                 const WindowOptions& options, WindowStats* stats) {
  std::vector<at::Tensor> slices;
  WindowStats s = sliding_window(image, networks, options,
                                 [&](int64_t, const at::Tensor& logits) { slices.push_back(logits); });
  if (stats) *stats = s;
  return torch::stack(slices, 1);
}

}  // namespace voxseg::infer
