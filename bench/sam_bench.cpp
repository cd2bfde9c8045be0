// SAM on the CPU with random weights: image-encoder time per slice in fp32 and bf16 and mask-decoder
// time per box prompt.
// usage: sam_bench [vit_b|vit_l|vit_h|tiny] [batch] [repeats] [threads]
// ("tiny": embed 64, depth 2, 256x256 input, a smoke run). Prints one JSON line (median of repeats
// after one warm-up): seconds per slice for each precision, their ratio, the bf16 embedding's
// relative error, and seconds per box for the decoder (16 boxes per call, multimask off).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "voxseg/core/threads.h"
#include "voxseg/models/detail/sam_impl.h"

namespace {

using voxseg::models::Precision;
using voxseg::models::SamConfig;
using voxseg::models::detail::SamImpl;

SamConfig bench_config(const std::string& name) {
  SamConfig c;
  c.variant = name;
  if (name == "vit_l") {
    c.embed_dim = 1024, c.depth = 24, c.num_heads = 16, c.global_attn_indexes = {5, 11, 17, 23};
  } else if (name == "vit_h") {
    c.embed_dim = 1280, c.depth = 32, c.num_heads = 16, c.global_attn_indexes = {7, 15, 23, 31};
  } else if (name == "tiny") {
    c.embed_dim = 64, c.depth = 2, c.num_heads = 2, c.global_attn_indexes = {1}, c.image_size = 256;
  } else {
    c.variant = "vit_b";
    c.embed_dim = 768, c.depth = 12, c.num_heads = 12, c.global_attn_indexes = {2, 5, 8, 11};
  }
  return c;
}

/// Random weights of the architecture's shapes, scaled to keep activations near unit size.
std::unique_ptr<SamImpl> random_model(const SamConfig& c, Precision precision) {
  auto impl = std::make_unique<SamImpl>(c, c10::Device(c10::kCPU), precision);
  torch::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> w;
  for (const auto& e : impl->params.entries()) {
    at::Tensor t = torch::randn(e.shape);
    if (e.shape.size() == 1) t = e.name.size() > 7 && e.name.substr(e.name.size() - 7) == ".weight" ? 1 + 0.1 * t : 0.1 * t;
    else if (e.shape.size() >= 2 && e.name.find("embed") == std::string::npos && e.name.find("token") == std::string::npos &&
             e.name.find("gaussian") == std::string::npos && e.name.find("rel_pos") == std::string::npos)
      t = t / std::sqrt(static_cast<double>(t[0].numel()));
    else if (e.name.find("rel_pos") != std::string::npos || e.name.find("pos_embed") != std::string::npos)
      t = 0.2 * t;
    w.emplace_back(e.name, t);
  }
  impl->load_weights(w, "random");
  return impl;
}

double median_seconds(int repeats, const std::function<void()>& f) {
  std::vector<double> times;
  for (int r = 0; r <= repeats; ++r) {  // r == 0 is the warm-up
    const auto start = std::chrono::steady_clock::now();
    f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) times.push_back(s);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const SamConfig config = bench_config(argc >= 2 ? argv[1] : "vit_b");
  const int64_t batch = argc >= 3 ? std::stoll(argv[2]) : 1;
  const int repeats = argc >= 4 ? std::stoi(argv[3]) : 3;
  const int threads = argc >= 5 ? std::stoi(argv[4]) : 0;
  voxseg::set_compute_threads(threads);
  c10::InferenceMode guard;

  const int64_t s = config.image_size;
  const at::Tensor images = torch::randn({batch, 3, s, s});
  at::Tensor emb32, emb16;
  double t32 = 0, t16 = 0;
  {
    const auto fp32 = random_model(config, Precision::FP32);
    t32 = median_seconds(repeats, [&] { emb32 = fp32->image_encoder(images); });
  }
  {
    const auto bf16 = random_model(config, Precision::BF16);
    t16 = median_seconds(repeats, [&] { emb16 = bf16->image_encoder(images.to(at::kBFloat16)).to(at::kFloat); });
  }
  const double rel_err = ((emb16 - emb32).norm() / emb32.norm()).item<double>();

  const auto model = random_model(config, Precision::FP32);
  const int64_t boxes = 16;
  const at::Tensor xy0 = torch::rand({boxes, 2}) * (s / 2);
  const at::Tensor box = torch::cat({xy0, xy0 + s / 4}, 1);
  const at::Tensor pe = model->prompt_encoder.dense_positional_encoding();
  const at::Tensor one = emb32.slice(0, 0, 1);
  const double tdec = median_seconds(repeats, [&] {
    const auto [sparse, dense] = model->prompt_encoder({}, {}, box, {}, boxes);
    model->mask_decoder(one, pe, sparse, dense);
  });
  std::printf(
      "{\"bench\": \"sam\", \"config\": \"%s\", \"image_size\": %lld, \"batch\": %lld, \"threads\": %d, "
      "\"repeats\": %d, \"encoder_fp32_s_per_slice\": %.4f, \"encoder_bf16_s_per_slice\": %.4f, "
      "\"bf16_speedup\": %.2f, \"bf16_rel_err\": %.4g, \"decoder_s_per_box\": %.5f}\n",
      config.variant.c_str(), static_cast<long long>(s), static_cast<long long>(batch), threads, repeats,
      t32 / batch, t16 / batch, t32 / t16, rel_err, tdec / boxes);
  return 0;
}
