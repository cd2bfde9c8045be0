// U-Net forward rate against the machine's raw convolution rate, in one run (issue 14's yardstick):
// the raw rate is one 64->64 3x3x3 convolution at 64^3, batch 1, through oneDNN with blocked
// tensors and prepacked weights (no reorders per call; also through ATen's dense at::conv3d), and
// the network rate is the network's convolution FLOPs (2 x MACs of every conv, transposed conv and
// 1x1 head; norms and activations not counted) over the time of one Network::forward, the path
// voxseg predict runs: the oneDNN engine (`<p>_*`) and the torch modules through ATen
// (`<p>_aten_*`, bf16 by autocast), fp32 and bf16, with how far the two outputs differ. Random weights.
// Networks: nnU-Net's default 3d_fullres PlainConvUNet (6 stages, 32->320, patch 128^3), the
// 5-stage variant at 64^3, and ResEnc-M (nnUNetResEncUNetMPlans: blocks 1,3,4,6,6,6, patch 128^3).
// usage: network_bench [--threads N] [--repeats N] [--conv-size S] [--patch-divisor D] [--classes K]
//                      [--nets plain6,plain5,resenc-m] [--precisions fp32,bf16]
// --conv-size and --patch-divisor shrink the work for a smoke run (e.g. --conv-size 16
// --patch-divisor 4); the defaults are the sizes above. Prints one JSON line on stdout.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "voxseg/core/threads.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"
#include "voxseg/models/unet_config.h"

namespace {

using voxseg::models::Precision;
using voxseg::models::UNetConfig;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Median of `repeats` timed calls after one warm-up.
template <typename F>
double median_seconds(int repeats, F&& f) {
  f();
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    f();
    t.push_back(seconds_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int64_t prod(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// FLOPs (2 per multiply-add) of a convolution cin->cout with `kernel` producing `out_voxels`.
double conv_flops(int64_t cin, int64_t cout, const std::vector<int64_t>& kernel, int64_t out_voxels) {
  return 2.0 * double(cin) * double(cout) * double(prod(kernel)) * double(out_voxels);
}

// Convolution FLOPs of one forward of `c` (no deep supervision) on a tile of `patch`, following the
// structure of PlainConvUNet / ResidualEncoderUNet and UNetDecoder.
double network_flops(const UNetConfig& c, const std::vector<int64_t>& patch) {
  const int n = c.n_stages();
  std::vector<int64_t> voxels(static_cast<size_t>(n), 0);  // output voxels of each stage
  std::vector<int64_t> shape = patch;
  for (int s = 0; s < n; ++s) {
    for (size_t a = 0; a < shape.size(); ++a) shape[a] /= c.strides[size_t(s)][a];
    voxels[size_t(s)] = prod(shape);
  }
  const std::vector<int64_t> ones(patch.size(), 1);
  double f = 0;
  int64_t cin = c.in_channels;
  if (c.is_residual()) {
    f += conv_flops(cin, c.stem_features(), c.kernel_sizes[0], prod(patch));  // stem
    cin = c.stem_features();
  }
  for (int s = 0; s < n; ++s) {
    const int64_t feat = c.features_per_stage[size_t(s)], v = voxels[size_t(s)];
    const auto& k = c.kernel_sizes[size_t(s)];
    if (c.is_residual()) {
      for (int64_t b = 0; b < c.n_blocks_per_stage[size_t(s)]; ++b) {
        const int64_t in = b == 0 ? cin : feat;
        f += conv_flops(in, feat, k, v) + conv_flops(feat, feat, k, v);  // conv1, conv2
        if (in != feat) f += conv_flops(in, feat, ones, v);              // 1x1 skip projection
      }
    } else {
      for (int64_t i = 0; i < c.n_conv_per_stage[size_t(s)]; ++i) f += conv_flops(i == 0 ? cin : feat, feat, k, v);
    }
    cin = feat;
  }
  for (int s = 1; s < n; ++s) {  // decoder, from the bottom
    const size_t below = size_t(n - s), skip = size_t(n - s - 1);
    const int64_t fb = c.features_per_stage[below], fs = c.features_per_stage[skip];
    f += conv_flops(fb, fs, c.strides[below], voxels[below]);  // transposed conv, kernel = stride
    for (int64_t i = 0; i < c.n_conv_per_stage_decoder[size_t(s - 1)]; ++i)
      f += conv_flops(i == 0 ? 2 * fs : fs, fs, c.kernel_sizes[skip], voxels[skip]);
  }
  return f + conv_flops(c.features_per_stage[0], c.num_classes, ones, voxels[0]);  // seg head
}

struct RawRates {
  double fp32_blocked = 0, fp32_dense = 0, bf16_blocked = 0, bf16_dense = 0;
};

// One 64->64 3x3x3 convolution at size^3, batch 1: oneDNN on blocked (mkldnn) tensors with the
// weights reordered once, and ATen's at::conv3d on dense tensors.
RawRates raw_conv_rates(int64_t size, int repeats, const std::vector<std::string>& precisions) {
  RawRates r;
  const at::Tensor x = torch::randn({1, 64, size, size, size});
  const at::Tensor w = torch::randn({64, 64, 3, 3, 3}) * 0.05, b = torch::randn({64});
  const double flops = conv_flops(64, 64, {3, 3, 3}, size * size * size);
  for (const auto& p : precisions) {
    const auto dt = p == "bf16" ? at::kBFloat16 : at::kFloat;
    const at::Tensor xd = x.to(dt), wd = w.to(dt), bd = b.to(dt);
    const at::Tensor xm = xd.to_mkldnn();
    const at::Tensor wm = at::mkldnn_reorder_conv3d_weight(wd.to_mkldnn(), {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1);
    const at::Tensor bm = bd.to_mkldnn();
    const double blocked = median_seconds(repeats, [&] {
      at::mkldnn_convolution(xm, wm, bm, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1);
    });
    const double dense = median_seconds(repeats, [&] { at::conv3d(xd, wd, bd, 1, 1); });
    (p == "bf16" ? r.bf16_blocked : r.fp32_blocked) = flops / blocked * 1e-9;
    (p == "bf16" ? r.bf16_dense : r.fp32_dense) = flops / dense * 1e-9;
  }
  return r;
}

struct Net {
  std::string name;
  UNetConfig config;
  std::vector<int64_t> patch;
};

std::vector<Net> networks(const std::vector<std::string>& names, int64_t classes, int64_t divisor) {
  std::vector<Net> out;
  for (const auto& n : names) {
    Net net;
    net.name = n;
    if (n == "plain6" || n == "resenc-m") {
      net.config = voxseg::models::make_default_unet_config(3, 1, classes, 6);
      net.patch = {128, 128, 128};
    } else if (n == "plain5") {
      net.config = voxseg::models::make_default_unet_config(3, 1, classes, 5);
      net.patch = {64, 64, 64};
    } else {
      std::fprintf(stderr, "network_bench: unknown network '%s' (plain6, plain5, resenc-m)\n", n.c_str());
      std::exit(2);
    }
    if (n == "resenc-m") {  // nnU-Net's ResEnc-M preset: residual encoder, one conv per decoder stage
      net.config.encoder = "residual";
      net.config.n_blocks_per_stage = {1, 3, 4, 6, 6, 6};
      net.config.n_conv_per_stage.clear();
      net.config.n_conv_per_stage_decoder = {1, 1, 1, 1, 1};
    }
    // Shrunk patches stay multiples of the network's total stride.
    const auto stride = voxseg::models::total_strides(net.config);
    for (size_t a = 0; a < net.patch.size(); ++a)
      net.patch[a] = std::max(stride[a], net.patch[a] / divisor / stride[a] * stride[a]);
    out.push_back(net);
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string json_list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, repeats = 3;
  int64_t conv_size = 64, divisor = 1, classes = 3;
  std::vector<std::string> nets{"plain6", "plain5", "resenc-m"}, precisions{"fp32", "bf16"};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--threads" && has_value) threads = std::stoi(argv[++i]);
    else if (a == "--repeats" && has_value) repeats = std::max(1, std::stoi(argv[++i]));
    else if (a == "--conv-size" && has_value) conv_size = std::stoll(argv[++i]);
    else if (a == "--patch-divisor" && has_value) divisor = std::max<int64_t>(1, std::stoll(argv[++i]));
    else if (a == "--classes" && has_value) classes = std::stoll(argv[++i]);
    else if (a == "--nets" && has_value) nets = split(argv[++i]);
    else if (a == "--precisions" && has_value) precisions = split(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: network_bench [--threads N] [--repeats N] [--conv-size S] [--patch-divisor D] "
                   "[--classes K] [--nets plain6,plain5,resenc-m] [--precisions fp32,bf16]\n");
      return 2;
    }
  }
  voxseg::set_compute_threads(threads);
  c10::InferenceMode guard;
  torch::manual_seed(0);

  const RawRates raw = raw_conv_rates(conv_size, repeats, precisions);
  auto raw_rate = [&](const std::string& p) {
    return p == "bf16" ? std::max(raw.bf16_blocked, raw.bf16_dense) : std::max(raw.fp32_blocked, raw.fp32_dense);
  };
  std::string out = "{\"bench\": \"network_bench\", \"threads\": " + std::to_string(at::get_num_threads()) +
                    ", \"repeats\": " + std::to_string(repeats) + ", \"raw_conv\": {\"shape\": \"64->64 3x3x3 at " +
                    std::to_string(conv_size) + "^3, batch 1\"";
  char buf[512];
  for (const auto& p : precisions) {
    const bool bf = p == "bf16";
    std::snprintf(buf, sizeof buf, ", \"%s_gflops\": %.1f, \"%s_blocked_gflops\": %.1f, \"%s_dense_gflops\": %.1f",
                  p.c_str(), raw_rate(p), p.c_str(), bf ? raw.bf16_blocked : raw.fp32_blocked, p.c_str(),
                  bf ? raw.bf16_dense : raw.fp32_dense);
    out += buf;
  }
  out += "}, \"networks\": [";
  bool first = true;
  for (const Net& n : networks(nets, classes, divisor)) {
    voxseg::models::UNet init(n.config);  // nnU-Net's initialisation, random
    const auto weights = init.state_dict();
    const double flops = network_flops(n.config, n.patch);
    std::snprintf(buf, sizeof buf, "%s{\"name\": \"%s\", \"patch\": %s, \"gflop\": %.2f", first ? "" : ", ",
                  n.name.c_str(), json_list(n.patch).c_str(), flops * 1e-9);
    out += buf;
    first = false;
    const at::Tensor x = torch::randn({1, 1, n.patch[0], n.patch[1], n.patch[2]});
    at::Tensor engine_logits;
    for (const auto& p : precisions) {
      const Precision precision = voxseg::models::parse_precision(p);
      // The oneDNN engine (what predict runs) and the torch modules (VOXSEG_ONEDNN_ENGINE=0).
      for (const bool aten : {false, true}) {
        if (aten) setenv("VOXSEG_ONEDNN_ENGINE", "0", 1);
        const auto net =
            voxseg::models::make_unet_network(n.config, weights, "random", n.name, c10::Device(c10::kCPU), precision);
        if (aten) unsetenv("VOXSEG_ONEDNN_ENGINE");
        at::Tensor y;
        const double s = median_seconds(repeats, [&] { y = net->forward(x); });
        const double rate = flops / s * 1e-9;
        const std::string key = p + (aten ? "_aten" : "");
        std::snprintf(buf, sizeof buf, ", \"%s_s\": %.3f, \"%s_gflops\": %.1f, \"%s_ratio\": %.3f, \"%s_path\": \"%s\"",
                      key.c_str(), s, key.c_str(), rate, key.c_str(), rate / raw_rate(p), key.c_str(),
                      net->forward_path().c_str());
        out += buf;
        if (aten) {  // how far the engine's logits are from ATen's (relative to the largest logit)
          const double diff = (engine_logits - y).abs().max().item<double>() / y.abs().max().item<double>();
          const double agree = engine_logits.argmax(1).eq(y.argmax(1)).to(at::kDouble).mean().item<double>();
          std::snprintf(buf, sizeof buf, ", \"%s_engine_vs_aten\": %.2e, \"%s_label_agreement\": %.5f", p.c_str(), diff,
                        p.c_str(), agree);
          out += buf;
        } else {
          engine_logits = y;
        }
      }
    }
    out += "}";
  }
  std::printf("%s]}\n", out.c_str());
  return 0;
}
