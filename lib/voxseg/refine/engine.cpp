#include "voxseg/refine/engine.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"

namespace voxseg::refine {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Pixels outside the inclusive box [x0,x1] x [y0,y1] (pixel centres) get kOutsideLogit.
void clip_to_box(at::Tensor& logits, const Box& b) {
  const int64_t h = logits.size(0), w = logits.size(1);
  const int64_t x0 = std::max<int64_t>(0, int64_t(std::ceil(b.x0))), x1 = std::min<int64_t>(w - 1, int64_t(std::floor(b.x1)));
  const int64_t y0 = std::max<int64_t>(0, int64_t(std::ceil(b.y0))), y1 = std::min<int64_t>(h - 1, int64_t(std::floor(b.y1)));
  at::Tensor keep = torch::zeros({h, w}, torch::kBool);
  if (x1 >= x0 && y1 >= y0) keep.slice(0, y0, y1 + 1).slice(1, x0, x1 + 1).fill_(true);
  logits.masked_fill_(keep.logical_not(), kOutsideLogit);
}

std::optional<Box> mask_box(const at::Tensor& mask) {
  const at::Tensor idx = mask.nonzero();  // [N,2] (row, col)
  if (idx.size(0) == 0) return std::nullopt;
  const at::Tensor lo = std::get<0>(idx.min(0)), hi = std::get<0>(idx.max(0));
  return Box{double(lo[1].item<int64_t>()), double(lo[0].item<int64_t>()), double(hi[1].item<int64_t>()),
             double(hi[0].item<int64_t>())};
}

Json box_json(const Box& b) {
  Json a = Json::array();
  for (const double v : {b.x0, b.y0, b.x1, b.y1}) a.push_back(v);
  return a;
}

}  // namespace

MergeMode parse_merge_mode(const std::string& text) {
  if (text == "replace") return MergeMode::Replace;
  if (text == "intersect") return MergeMode::Intersect;
  if (text == "union") return MergeMode::Union;
  fail(ExitCode::Usage, "--mode '{}': expected replace, intersect or union", text);
}

Multimask parse_multimask(const std::string& text) {
  if (text == "auto") return Multimask::Auto;
  if (text == "on") return Multimask::On;
  if (text == "off") return Multimask::Off;
  fail(ExitCode::Usage, "--multimask '{}': expected on, off or auto", text);
}

at::Tensor merge_slice(const at::Tensor& label_logits, const std::vector<int64_t>& values, const at::Tensor& initial,
                       MergeMode mode) {
  const auto best = label_logits.max(0);
  const at::Tensor value_table = torch::tensor(values, torch::kLong);
  at::Tensor refined = value_table.index_select(0, std::get<1>(best).flatten()).view(std::get<1>(best).sizes());
  refined.masked_fill_(std::get<0>(best) <= 0, 0);
  refined = refined.to(torch::kShort);
  if (!initial.defined() || mode == MergeMode::Replace) return refined;
  const at::Tensor init = initial.to(torch::kShort);
  if (mode == MergeMode::Union) return torch::where(init != 0, init, refined);
  // Intersect: the logit of each pixel's own initial label.
  at::Tensor own_on = torch::zeros(init.sizes(), torch::kBool);
  for (size_t l = 0; l < values.size(); ++l) own_on |= (init == values[l]) & (label_logits[int64_t(l)] > 0);
  return torch::where(own_on, init, torch::zeros_like(init));
}

EngineResult run_engine(const at::Tensor& image8, const PromptSet& prompts, PromptNetwork& network,
                        const EngineOptions& options, const EmbeddingCache& cache, const at::Tensor& initial,
                        Progress progress) {
  torch::NoGradGuard no_grad;
  const auto t_start = std::chrono::steady_clock::now();
  const bool rgb = image8.dim() == 4;
  const at::Tensor image = image8.cpu().contiguous();
  const int dim = axis_dim(prompts.axis);
  const auto vol_sizes = rgb ? image.sizes().slice(1) : image.sizes();
  EngineResult result;
  // Output label values, sorted; their index is the logits channel.
  std::map<int64_t, int64_t> channel;
  for (const auto& p : prompts.prompts) channel[p.label] = 0;
  for (auto& [value, index] : channel) {
    index = int64_t(result.label_values.size());
    result.label_values.push_back(value);
  }
  result.labels = initial.defined() ? initial.to(torch::kShort).cpu().clone() : torch::zeros(vol_sizes, torch::kShort);
  if (options.want_logits) {
    std::vector<int64_t> shape{int64_t(result.label_values.size())};
    shape.insert(shape.end(), vol_sizes.begin(), vol_sizes.end());
    result.logits = torch::full(shape, kOutsideLogit, torch::kFloat);
  }
  std::map<int64_t, std::vector<size_t>> by_slice;
  for (size_t i = 0; i < prompts.prompts.size(); ++i) by_slice[prompts.prompts[i].slice].push_back(i);
  std::vector<int64_t> slices;
  for (const auto& [s, list] : by_slice) slices.push_back(s);

  const std::string identity = network.identity();
  const char* preset = preset_name(options.preset);
  double preprocess_s = 0, encode_s = 0, decode_s = 0, cache_s = 0;
  int64_t encoded = 0, cache_hits = 0, decoded = 0;
  std::map<int64_t, std::pair<int64_t, std::optional<Box>>> last_mask;  // group -> (slice, mask box)
  Json prompt_reports = Json::array();
  progress.set_total(int64_t(slices.size()));

  // Slices whose embedding is ready and whose prompts wait for the decoder. Without propagation no
  // prompt depends on another slice's mask, so the prompts of consecutive slices are decoded
  // together (up to options.decode_batch per call, a slice's prompts never split), each on its own
  // slice's embedding: fewer, larger decoder calls.
  struct Ready {
    int64_t slice;
    SliceFrame frame;
    at::Tensor embedding;  // [C,h,w]
  };
  std::vector<Ready> ready;
  int64_t ready_prompts = 0;
  const auto decode_ready = [&]() {
    const auto t0 = std::chrono::steady_clock::now();
    struct Pending {
      size_t slot;  // in `ready`
      size_t index;
      std::optional<Box> box;
      at::Tensor points, labels, box_t;
      bool multimask = false;
    };
    std::vector<Pending> pending;
    for (size_t slot = 0; slot < ready.size(); ++slot) {
      const int64_t s = ready[slot].slice;
      const SliceFrame& frame = ready[slot].frame;
      for (const size_t index : by_slice[s]) {
        const SlicePrompt& p = prompts.prompts[index];
        Pending q{slot, index, p.box, {}, {}, {}, false};
        if (options.propagate && p.group >= 0 && q.box) {
          const auto it = last_mask.find(p.group);
          if (it != last_mask.end() && it->second.first == s - 1 && it->second.second) {
            const Box& m = *it->second.second;
            const double g = double(options.margin);
            const Box t{std::max(q.box->x0, m.x0 - g), std::max(q.box->y0, m.y0 - g), std::min(q.box->x1, m.x1 + g),
                        std::min(q.box->y1, m.y1 + g)};
            if (t.x1 >= t.x0 && t.y1 >= t.y0) q.box = t;
          }
        }
        if (!p.points.empty()) {
          std::vector<float> xy, lab;
          for (const auto& pt : p.points) {
            const auto m = to_model_point(pt.x, pt.y, frame);
            xy.push_back(float(m[0]));
            xy.push_back(float(m[1]));
            lab.push_back(pt.positive ? 1.0f : 0.0f);
          }
          q.points = torch::tensor(xy).view({1, int64_t(p.points.size()), 2});
          q.labels = torch::tensor(lab).view({1, int64_t(p.points.size())});
        }
        if (q.box) {
          const auto a = to_model_point(q.box->x0, q.box->y0, frame), b = to_model_point(q.box->x1, q.box->y1, frame);
          q.box_t = torch::tensor({float(a[0]), float(a[1]), float(b[0]), float(b[1])}).view({1, 4});
        }
        q.multimask = options.multimask == Multimask::On ||
                      (options.multimask == Multimask::Auto && !q.box && p.points.size() == 1);
        pending.push_back(std::move(q));
      }
    }
    // Prompts of one shape (point count, box or not, multimask) go through the decoder together;
    // the decoder projects each slice's image tokens once for all of that slice's prompts.
    std::map<std::tuple<int64_t, bool, bool>, std::vector<size_t>> shapes;
    for (size_t j = 0; j < pending.size(); ++j) {
      const Pending& q = pending[j];
      shapes[{q.points.defined() ? q.points.size(1) : 0, q.box_t.defined(), q.multimask}].push_back(j);
    }
    std::vector<PromptNetwork::Decoded> decoded_masks(pending.size());
    for (const auto& [shape, members] : shapes) {
      const auto batch_of = [&](at::Tensor Pending::*field) {
        if (!(pending[members[0]].*field).defined()) return at::Tensor();
        std::vector<at::Tensor> parts;
        for (const size_t j : members) parts.push_back(pending[j].*field);
        return torch::cat(parts, 0);
      };
      std::vector<int64_t> slot_image(ready.size(), -1), image_index;
      std::vector<at::Tensor> images;
      for (const size_t j : members) {
        int64_t& image = slot_image[pending[j].slot];
        if (image < 0) {
          image = int64_t(images.size());
          images.push_back(ready[pending[j].slot].embedding);
        }
        image_index.push_back(image);
      }
      const bool one = images.size() == 1;
      const PromptNetwork::Decoded d =
          network.decode(one ? images[0].unsqueeze(0) : torch::stack(images),
                         one ? at::Tensor() : torch::tensor(image_index, torch::kLong), batch_of(&Pending::points),
                         batch_of(&Pending::labels), batch_of(&Pending::box_t), std::get<2>(shape));
      for (size_t m = 0; m < members.size(); ++m)
        decoded_masks[members[m]] = {d.low_res_logits[int64_t(m)], d.iou[int64_t(m)]};
    }
    size_t j = 0;
    for (size_t slot = 0; slot < ready.size(); ++slot) {
      const int64_t s = ready[slot].slice;
      const SliceFrame& frame = ready[slot].frame;
      at::Tensor label_logits = torch::full({int64_t(channel.size()), frame.height, frame.width}, kOutsideLogit);
      for (; j < pending.size() && pending[j].slot == slot; ++j) {
        const Pending& q = pending[j];
        const SlicePrompt& p = prompts.prompts[q.index];
        const PromptNetwork::Decoded& d = decoded_masks[j];
        const int64_t k = q.multimask ? d.iou.argmax().item<int64_t>() : 0;
        at::Tensor logits = upscale_logits(d.low_res_logits.slice(0, k, k + 1), options.preset, frame)[0].clone();
        ++decoded;
        if (q.box) clip_to_box(logits, *q.box);
        const int64_t c = channel[p.label];
        label_logits[c] = torch::maximum(label_logits[c], logits);
        if (p.group >= 0) last_mask[p.group] = {s, mask_box(logits > 0)};
        Json r = Json::object();
        r["slice"] = s;
        r["label"] = p.label;
        if (q.box) r["box"] = box_json(*q.box);
        r["points"] = int64_t(p.points.size());
        r["multimask"] = q.multimask;
        r["mask_index"] = k;
        r["iou"] = double(d.iou[k].item<float>());
        r["pixels"] = (logits > 0).sum().item<int64_t>();
        prompt_reports.push_back(std::move(r));
      }
      const at::Tensor init_slice = initial.defined() ? result.labels.select(dim, s) : at::Tensor();
      const at::Tensor merged = merge_slice(label_logits, result.label_values, init_slice, options.mode);
      result.labels.select(dim, s).copy_(merged);
      if (options.want_logits) result.logits.select(dim + 1, s).copy_(label_logits);
      progress.advance();
    }
    decode_s += seconds_since(t0);
    ready.clear();
    ready_prompts = 0;
  };

  for (size_t start = 0; start < slices.size(); start += size_t(options.batch_size)) {
    const size_t end = std::min(slices.size(), start + size_t(options.batch_size));
    std::vector<at::Tensor> embeddings(end - start);
    std::vector<SliceFrame> frames(end - start);
    std::vector<std::string> keys(end - start);
    std::vector<size_t> misses;
    std::vector<at::Tensor> inputs;
    for (size_t i = start; i < end; ++i) {
      const int64_t s = slices[i];
      const at::Tensor slice = rgb ? image.select(dim + 1, s) : image.select(dim, s).unsqueeze(0).expand({3, -1, -1});
      const at::Tensor rgb8 = slice.contiguous();
      frames[i - start] = slice_frame(options.preset, rgb8.size(1), rgb8.size(2), network.image_size());
      if (cache.enabled()) {
        const auto t0 = std::chrono::steady_clock::now();
        keys[i - start] = EmbeddingCache::key(rgb8, preset, identity);
        if (auto hit = cache.load(keys[i - start])) {
          embeddings[i - start] = *hit;
          ++cache_hits;
        }
        cache_s += seconds_since(t0);
        if (embeddings[i - start].defined()) continue;
      }
      const auto t0 = std::chrono::steady_clock::now();
      inputs.push_back(encoder_input(rgb8, options.preset, frames[i - start]));
      preprocess_s += seconds_since(t0);
      misses.push_back(i - start);
    }
    if (!misses.empty()) {
      const auto t0 = std::chrono::steady_clock::now();
      const at::Tensor batch = network.encode(torch::stack(inputs));
      encode_s += seconds_since(t0);
      encoded += int64_t(misses.size());
      for (size_t m = 0; m < misses.size(); ++m) {
        embeddings[misses[m]] = batch[int64_t(m)].contiguous();
        if (cache.enabled()) cache.store(keys[misses[m]], embeddings[misses[m]]);
      }
    }
    for (size_t i = start; i < end; ++i) {
      const int64_t n = int64_t(by_slice[slices[i]].size());
      // With propagation a slice's boxes depend on the previous slice's masks: one slice at a time.
      if (!ready.empty() && (options.propagate || ready_prompts + n > options.decode_batch)) decode_ready();
      ready.push_back({slices[i], frames[i - start], embeddings[i - start]});
      ready_prompts += n;
    }
  }
  if (!ready.empty()) decode_ready();
  Json counts = Json::object();
  counts["slices"] = int64_t(slices.size());
  counts["prompts"] = decoded;
  counts["encoded"] = encoded;
  counts["cache_hits"] = cache_hits;
  Json timings = Json::object();
  timings["preprocess_s"] = preprocess_s;
  timings["encode_s"] = encode_s;
  timings["decode_s"] = decode_s;
  timings["cache_s"] = cache_s;
  timings["total_s"] = seconds_since(t_start);
  result.report = Json::object();
  result.report["counts"] = counts;
  result.report["timings"] = timings;
  result.report["prompts"] = prompt_reports;
  return result;
}

}  // namespace voxseg::refine
