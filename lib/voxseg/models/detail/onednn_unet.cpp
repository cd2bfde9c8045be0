#include "voxseg/models/detail/onednn_unet.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "voxseg/core/env_switch.h"
#include "voxseg/models/detail/onednn_norm.h"
#include "voxseg/models/detail/unet_modules.h"
#include "voxseg/models/network.h"
#include "voxseg/models/unet.h"

// The network's structure is copied at construction into plain layer lists (Conv, Block, ResBlock);
// forward walks them like the torch modules do (unet_modules.h) with oneDNN primitives created on
// first use of a (layer, input shape, thread count) and kept. Activations are channels-last (ndhwc /
// nhwc): on AVX-512 and AMX oneDNN 2.6 picks its brgemm convolutions for that layout when asked for
// "any" (its blocked nCdhw16c runs the older, slower bf16 kernels), and the norm pass reads it with
// channels innermost. The skip concatenation is never made: the decoder's first convolution is split
// by input channels (a convolution writing into a channel sub-range of a wider channels-last buffer,
// the other way to avoid the copy, falls back to oneDNN's reference kernel).
namespace voxseg::models::detail {

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

// A convolution (or transposed convolution) with float32 weights in PyTorch's layout.
struct Conv {
  int id = 0;
  bool deconv = false;
  at::Tensor weight, bias;  // bias may be undefined
  memory::dims stride, padding;
};

// conv -> [instance norm] -> [LeakyReLU]; batch norm is folded into the conv.
struct Block {
  Conv conv;
  bool instance = false;
  at::Tensor gamma, beta;  // instance norm affine, or undefined
  double eps = 1e-5;
  bool leaky = false;
};

// BasicBlockD: conv1 (leaky) -> conv2 (no activation) + skip [avg pool][1x1 projection], leaky.
struct ResBlock {
  Block conv1, conv2;
  memory::dims pool;  // empty: no pooling
  std::optional<Block> projection;
};

memory::dims dims_of(at::IntArrayRef s) { return memory::dims(s.begin(), s.end()); }

tag channels_last(size_t ndims) { return ndims == 5 ? tag::ndhwc : tag::nhwc; }
tag plain(size_t ndims) { return ndims == 5 ? tag::ncdhw : tag::nchw; }

std::string key_of(char kind, int id, const memory::dims& d) {
  std::string k(1, kind);
  k += std::to_string(id);
  for (auto v : d) k += ',' + std::to_string(v);
  k += '/' + std::to_string(at::get_num_threads());
  return k;
}

}  // namespace

namespace {

// Activation buffers are reused across forwards: a fresh large allocation is fresh pages from the
// kernel, and faulting them in costs as much as a convolution at the first stage. One pool for the
// process, so that several networks (nnU-Net's folds) share one forward's worth of buffers. A
// buffer is free when only the pool holds its storage; free buffers that the latest forward did not
// use are released after it.
class BufferPool {
 public:
  at::Tensor take(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    Pooled* best = nullptr;
    for (auto& p : buffers_)
      if (p.bytes.storage().use_count() == 1 && p.bytes.numel() >= bytes && p.bytes.numel() <= 2 * bytes &&
          (!best || p.bytes.numel() < best->bytes.numel()))
        best = &p;
    if (!best) {
      buffers_.push_back(Pooled{at::empty({bytes}, at::TensorOptions().dtype(at::kByte)), 0});
      best = &buffers_.back();
    }
    best->used = generation_;
    return best->bytes.narrow(0, 0, bytes);
  }
  void begin_forward() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    buffers_.erase(std::remove_if(buffers_.begin(), buffers_.end(),
                                  [](const Pooled& p) { return p.bytes.storage().use_count() == 1; }),
                   buffers_.end());
  }
  void end_forward() {
    std::lock_guard<std::mutex> lock(mutex_);
    buffers_.erase(
        std::remove_if(buffers_.begin(), buffers_.end(),
                       [&](const Pooled& p) { return p.used != generation_ && p.bytes.storage().use_count() == 1; }),
        buffers_.end());
  }

 private:
  struct Pooled {
    at::Tensor bytes;
    uint64_t used = 0;  // generation of the last forward that took it
  };
  std::mutex mutex_;
  std::vector<Pooled> buffers_;
  uint64_t generation_ = 0;
};

BufferPool& buffer_pool() {
  static BufferPool* pool = new BufferPool;  // never destroyed: no tensor freed after LibTorch's teardown
  return *pool;
}

}  // namespace

struct OnednnUNet::Impl {
  int dims = 3;
  float slope = 0.01f;
  bool bf16 = false;
  dt act = dt::f32;
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::mutex mutex;

  bool residual = false;
  std::optional<Block> stem;
  std::vector<std::vector<Block>> plain_stages;
  std::vector<std::vector<ResBlock>> res_stages;
  std::vector<Conv> transp;
  std::vector<std::vector<Block>> dec;
  std::vector<Conv> dec_skip;  // the skip's half of each decoder stage's first conv
  Conv head;
  int n_layers = 0;

  // One cached primitive with what it needs besides its source and destination.
  struct Entry {
    dnnl::primitive prim;
    memory::desc dst;
    memory weights, bias;
  };
  std::map<std::string, Entry> cache;
  // Reordered weights by layer, per destination format (shapes usually share one).
  std::map<int, std::vector<std::pair<memory::desc, memory>>> packed;

  // An activation: channels-last, element type `act` (or f32 for the head), in an ATen buffer.
  struct Act {
    at::Tensor storage;
    memory::dims d;
    dt type = dt::f32;
    memory mem(const dnnl::engine& e) const {
      return memory(memory::desc(d, type, channels_last(d.size())), e, storage.data_ptr());
    }
    ChannelsLast view() const {
      int64_t vox = 1;
      for (size_t a = 2; a < d.size(); ++a) vox *= d[a];
      return ChannelsLast{storage.data_ptr(), type == dt::bf16, d[0], vox, d[1]};
    }
  };
  Act alloc(const memory::dims& d, dt type) {
    int64_t n = type == dt::bf16 ? 2 : 4;
    for (auto v : d) n *= v;
    return Act{buffer_pool().take(n), d, type};
  }

  Conv make_conv(const at::Tensor& w, const at::Tensor& b, bool deconv, const std::vector<int64_t>& stride,
                 const std::vector<int64_t>& padding) {
    Conv c;
    c.id = n_layers++;
    c.deconv = deconv;
    // Shared with the module (the network keeps it, inference does not change it); packed copies
    // are made per primitive format.
    c.weight = w.detach().to(at::kCPU, at::kFloat).contiguous();
    if (b.defined()) c.bias = b.detach().to(at::kCPU, at::kFloat).contiguous();
    c.stride = memory::dims(stride.begin(), stride.end());
    c.padding = memory::dims(padding.begin(), padding.end());
    return c;
  }

  Block make_block(const ConvBlockImpl& m, const UNetConfig& cfg, const std::vector<int64_t>& stride, bool leaky) {
    std::vector<int64_t> padding;
    for (int64_t k : m.conv->weight.sizes().slice(2)) padding.push_back((k - 1) / 2);
    Block b;
    b.conv = make_conv(m.conv->weight, m.conv->bias_, false, stride, padding);
    b.leaky = leaky;
    b.eps = cfg.norm_eps;
    if (m.norm && cfg.norm == "instance") {
      b.instance = true;
      if (m.norm->weight.defined()) {
        b.gamma = m.norm->weight.detach().to(at::kCPU, at::kFloat).contiguous();
        b.beta = m.norm->bias.detach().to(at::kCPU, at::kFloat).contiguous();
      }
    } else if (m.norm && cfg.norm == "batch") {  // eval mode: y = (x - mean) * g / sqrt(var + eps) + beta
      const int64_t out = b.conv.weight.size(0);
      at::Tensor g = m.norm->weight.defined() ? m.norm->weight.detach().to(at::kCPU, at::kFloat) : at::ones({out});
      at::Tensor beta = m.norm->bias.defined() ? m.norm->bias.detach().to(at::kCPU, at::kFloat) : at::zeros({out});
      const at::Tensor mean = m.norm->running_mean.detach().to(at::kCPU, at::kDouble);
      const at::Tensor scale =
          g.to(at::kDouble) / (m.norm->running_var.detach().to(at::kCPU, at::kDouble) + cfg.norm_eps).sqrt();
      std::vector<int64_t> shape(size_t(b.conv.weight.dim()), 1);
      shape[0] = out;
      b.conv.weight = (b.conv.weight.to(at::kDouble) * scale.view(shape)).to(at::kFloat).contiguous();
      const at::Tensor bias = b.conv.bias.defined() ? b.conv.bias.to(at::kDouble) : at::zeros({out}, at::kDouble);
      b.conv.bias = ((bias - mean) * scale + beta.to(at::kDouble)).to(at::kFloat).contiguous();
    }
    return b;
  }

  std::vector<Block> make_stack(const StackedConvBlocksImpl& s, const UNetConfig& cfg,
                                const std::vector<int64_t>& first) {
    std::vector<Block> out;
    const std::vector<int64_t> ones(size_t(cfg.dims), 1);
    for (size_t i = 0; i < s.blocks.size(); ++i)
      out.push_back(make_block(*s.blocks[i], cfg, i == 0 ? first : ones, true));
    return out;
  }

  Impl(const UNetImpl& net, bool use_bf16) {
    const UNetConfig& cfg = net.config;
    dims = cfg.dims;
    slope = float(cfg.negative_slope);
    bf16 = use_bf16;
    act = bf16 ? dt::bf16 : dt::f32;
    residual = cfg.is_residual();
    const std::vector<int64_t> ones(size_t(dims), 1);
    if (residual) {
      stem = make_stack(*net.residual_encoder->stem, cfg, ones).front();
      for (size_t s = 0; s < net.residual_encoder->stages.size(); ++s) {
        std::vector<ResBlock> blocks;
        const auto& stage = *net.residual_encoder->stages[s];
        for (size_t i = 0; i < stage.blocks.size(); ++i) {
          const auto& m = *stage.blocks[i];
          const std::vector<int64_t>& stride = i == 0 ? cfg.strides[s] : ones;
          ResBlock r;
          r.conv1 = make_block(*m.conv1, cfg, stride, true);
          r.conv2 = make_block(*m.conv2, cfg, ones, false);
          if (m.pool) r.pool = memory::dims(stride.begin(), stride.end());
          if (m.projection) r.projection = make_block(*m.projection, cfg, ones, false);
          blocks.push_back(std::move(r));
        }
        res_stages.push_back(std::move(blocks));
      }
    } else {
      for (size_t s = 0; s < net.encoder->stages.size(); ++s)
        plain_stages.push_back(make_stack(*net.encoder->stages[s], cfg, cfg.strides[s]));
    }
    const auto& d = *net.decoder;
    const int n = cfg.n_stages();
    for (size_t s = 0; s < d.stages.size(); ++s) {
      const auto& stride = cfg.strides[size_t(n - 1 - int(s))];
      transp.push_back(make_conv(d.transpconvs[s]->weight, d.transpconvs[s]->bias_, true, stride,
                                 std::vector<int64_t>(size_t(dims), 0)));
      dec.push_back(make_stack(*d.stages[s], cfg, ones));
      // The first conv reads cat(up, skip): split into up's and skip's input channels (see forward).
      Conv& first = dec.back().front().conv;
      const int64_t half = first.weight.size(1) / 2;
      Conv skip_part = first;
      skip_part.id = n_layers++;
      skip_part.weight = first.weight.narrow(1, half, half).contiguous();
      skip_part.bias = at::Tensor();
      first.weight = first.weight.narrow(1, 0, half).contiguous();
      dec_skip.push_back(std::move(skip_part));
    }
    head = make_conv(d.seg_layers.back()->weight, d.seg_layers.back()->bias_, false, ones,
                     std::vector<int64_t>(size_t(dims), 0));
  }

  memory reorder_to(memory src, const memory::desc& want) {
    if (src.get_desc() == want) return src;
    memory dst(want, eng);
    dnnl::reorder(src, dst).execute(strm, src, dst);
    strm.wait();
    return dst;
  }

  // The layer's weights in `want`, reordered (and converted) once per format.
  memory packed_weights(const Conv& c, const memory::desc& want) {
    auto& list = packed[c.id];
    for (auto& [d, m] : list)
      if (d == want) return m;
    const size_t nd = size_t(c.weight.dim());
    const tag user = c.deconv ? (nd == 5 ? tag::iodhw : tag::iohw) : (nd == 5 ? tag::oidhw : tag::oihw);
    memory::dims wd = dims_of(c.weight.sizes());
    if (c.deconv) std::swap(wd[0], wd[1]);  // oneDNN's dims are {out, in, k...} whatever the layout
    memory src(memory::desc(wd, dt::f32, user), eng, c.weight.data_ptr());
    memory m = reorder_to(src, want);
    if (m.get_data_handle() == c.weight.data_ptr()) {  // same format: own a copy, not the tensor's memory
      memory copy(want, eng);
      std::memcpy(copy.get_data_handle(), m.get_data_handle(), want.get_size());
      m = copy;
    }
    list.emplace_back(want, m);
    return m;
  }

  // conv / deconv of `in`, with an optional LeakyReLU post-op, into a new channels-last activation.
  // With `accumulate`, the result is added to it (sum post-op) and it is returned.
  Act conv(const Conv& c, const Act& in, bool leaky_post, dt out_type, const Act* accumulate = nullptr) {
    const size_t nd = in.d.size();
    memory::dims wd = dims_of(c.weight.sizes());
    if (c.deconv) std::swap(wd[0], wd[1]);
    memory::dims od{in.d[0], wd[0]};
    for (size_t a = 2; a < nd; ++a) {
      const int64_t k = wd[a], s = c.stride[a - 2], p = c.padding[a - 2];
      od.push_back(c.deconv ? (in.d[a] - 1) * s - 2 * p + k : (in.d[a] + 2 * p - k) / s + 1);
    }
    const std::string key = key_of(c.deconv ? 'd' : 'c', c.id, in.d) + (leaky_post ? "L" : "") +
                            (out_type == dt::f32 ? "f" : "b") + (accumulate ? "S" : "");
    auto it = cache.find(key);
    if (it == cache.end()) {
      const dt wt = in.type;
      const memory::desc src_md(in.d, in.type, channels_last(nd));
      const memory::desc w_md(wd, wt, tag::any);
      const memory::desc dst_md(od, out_type, channels_last(nd));
      const memory::desc b_md = c.bias.defined() ? memory::desc({wd[0]}, dt::f32, tag::a) : memory::desc();
      dnnl::primitive_attr attr;
      dnnl::post_ops po;
      if (accumulate) po.append_sum(1.f);
      if (leaky_post) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, slope, 0.f);
      attr.set_post_ops(po);
      const memory::dims& pad = c.padding;
      Entry e;
      if (c.deconv) {
        dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::deconvolution_direct, src_md, w_md, b_md, dst_md,
                                               c.stride, pad, pad);
        dnnl::deconvolution_forward::primitive_desc pd(desc, attr, eng);
        e.prim = dnnl::deconvolution_forward(pd);
        e.weights = packed_weights(c, pd.weights_desc());
      } else {
        dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src_md, w_md, b_md, dst_md, c.stride, pad, pad);
        dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
        e.prim = dnnl::convolution_forward(pd);
        e.weights = packed_weights(c, pd.weights_desc());
      }
      if (c.bias.defined()) e.bias = memory(b_md, eng, c.bias.data_ptr());
      e.dst = dst_md;
      it = cache.emplace(key, std::move(e)).first;
    }
    Act out = accumulate ? *accumulate : alloc(od, out_type);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, in.mem(eng)}, {DNNL_ARG_WEIGHTS, it->second.weights}, {DNNL_ARG_DST, out.mem(eng)}};
    if (c.bias.defined()) args.emplace(DNNL_ARG_BIAS, it->second.bias);
    it->second.prim.execute(strm, args);
    return out;
  }

  void norm(const Block& b, Act& y, const Act* residual, bool leaky) {
    NormAct op;
    op.instance = b.instance;
    op.eps = b.eps;
    op.gamma = b.gamma.defined() ? b.gamma.data_ptr<float>() : nullptr;
    op.beta = b.beta.defined() ? b.beta.data_ptr<float>() : nullptr;
    ChannelsLast r;
    if (residual) {
      r = residual->view();
      op.residual = &r;
    }
    op.leaky = leaky;
    op.slope = slope;
    norm_act_inplace(y.view(), op);
  }

  Act block(const Block& b, const Act& x) {
    // Without instance norm the activation is the conv's post-op.
    Act y = conv(b.conv, x, b.leaky && !b.instance, act);
    if (b.instance) norm(b, y, nullptr, b.leaky);
    return y;
  }

  Act pool(const memory::dims& k, const Act& x, int id) {
    const size_t nd = x.d.size();
    memory::dims od{x.d[0], x.d[1]};
    for (size_t a = 2; a < nd; ++a) od.push_back(x.d[a] / k[a - 2]);
    const std::string key = key_of('p', id, x.d);
    auto it = cache.find(key);
    if (it == cache.end()) {
      const memory::desc src_md(x.d, x.type, channels_last(nd)), dst_md(od, x.type, channels_last(nd));
      const memory::dims zero(nd - 2, 0);
      dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_exclude_padding,
                                       src_md, dst_md, k, k, zero, zero);
      Entry e;
      e.prim = dnnl::pooling_forward(dnnl::pooling_forward::primitive_desc(desc, eng));
      e.dst = dst_md;
      it = cache.emplace(key, std::move(e)).first;
    }
    Act out = alloc(od, x.type);
    it->second.prim.execute(strm, {{DNNL_ARG_SRC, x.mem(eng)}, {DNNL_ARG_DST, out.mem(eng)}});
    return out;
  }

  Act res_block(const ResBlock& r, const Act& x) {
    Act y = block(r.conv1, x);
    Act z = conv(r.conv2.conv, y, false, act);
    y = Act{};
    Act skip = x;
    if (!r.pool.empty()) skip = pool(r.pool, skip, r.conv1.conv.id);
    if (r.projection) skip = block(*r.projection, skip);
    norm(r.conv2, z, &skip, true);
    return z;
  }

  // Dense float32 [N, C, spatial] <-> channels-last activations.
  void convert(const memory& src, const memory& dst, char kind, const memory::dims& d) {
    const std::string key = key_of(kind, 0, d);
    auto it = cache.find(key);
    if (it == cache.end()) {
      Entry e;
      e.prim = dnnl::reorder(src, dst);
      it = cache.emplace(key, std::move(e)).first;
    }
    it->second.prim.execute(strm, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
  }

  at::Tensor forward(const at::Tensor& tiles) {
    std::lock_guard<std::mutex> lock(mutex);
    buffer_pool().begin_forward();
    const at::Tensor x = tiles.to(at::kCPU, at::kFloat).contiguous();
    const memory::dims xd = dims_of(x.sizes());
    Act cur = alloc(xd, act);
    convert(memory(memory::desc(xd, dt::f32, plain(xd.size())), eng, x.data_ptr()), cur.mem(eng), 'i', xd);

    std::vector<Act> skips;
    if (residual) {
      cur = block(*stem, cur);
      for (const auto& stage : res_stages) {
        for (const auto& r : stage) cur = res_block(r, cur);
        skips.push_back(cur);
      }
    } else {
      for (const auto& stage : plain_stages) {
        for (const auto& b : stage) cur = block(b, cur);
        skips.push_back(cur);
      }
    }
    cur = skips.back();
    skips.pop_back();
    for (size_t s = 0; s < dec.size(); ++s) {
      // conv(cat(up, skip)) = conv(up, W_up) + conv(skip, W_skip): the second accumulates into the
      // first's output (sum post-op), so no concatenated copy is made.
      Act up = conv(transp[s], cur, false, act);
      const Block& first = dec[s].front();
      Act y = conv(first.conv, up, false, act);
      up = Act{};
      conv(dec_skip[s], skips.back(), first.leaky && !first.instance, act, &y);
      skips.pop_back();
      if (first.instance) norm(first, y, nullptr, first.leaky);
      cur = y;
      for (size_t i = 1; i < dec[s].size(); ++i) cur = block(dec[s][i], cur);
    }
    at::Tensor out = logits(cur);
    strm.wait();
    cur = Act{};
    buffer_pool().end_forward();
    return out;
  }

  // The 1x1 head into dense float32 [N, K, spatial], slab by slab along the first spatial axis (a
  // channels-last slab is contiguous), so that only one slab's channels-last logits exist besides
  // the output (105 classes at 128^3 are 0.9 GB each).
  at::Tensor logits(const Act& x) {
    const size_t nd = x.d.size();
    const int64_t classes = head.weight.size(0), depth = x.d[2];
    int64_t plane = 1;  // voxels per slice of the first spatial axis
    for (size_t a = 3; a < nd; ++a) plane *= x.d[a];
    const int64_t budget = int64_t(16) << 20;  // bytes of channels-last logits per slab
    const int64_t slab = std::max<int64_t>(1, std::min<int64_t>(depth, budget / (classes * plane * 4)));
    memory::dims od = x.d;
    od[1] = classes;
    at::Tensor out = at::empty(od, at::TensorOptions().dtype(at::kFloat));
    for (int64_t n = 0; n < x.d[0]; ++n)
      for (int64_t z = 0; z < depth; z += slab) {
        memory::dims sd = x.d;
        sd[0] = 1;
        sd[2] = std::min(slab, depth - z);
        const int64_t offset = (n * depth + z) * plane * x.d[1];
        const int64_t elem = x.type == dt::bf16 ? 2 : 4;
        Act part = conv(head, Act{x.storage.narrow(0, offset * elem, sd[2] * plane * x.d[1] * elem), sd, x.type}, false,
                        dt::f32);
        memory::dims dd = sd;
        dd[1] = classes;
        memory::dims strides(nd);  // the slab inside the dense output
        int64_t acc = 1;
        for (size_t a = nd; a-- > 2;) {
          strides[a] = acc;
          acc *= od[a];
        }
        strides[1] = acc;
        strides[0] = acc * classes;
        float* base = out.data_ptr<float>() + n * classes * acc + z * plane;
        memory::dims key = dd;  // the strides depend on the whole output too
        key.insert(key.end(), od.begin(), od.end());
        convert(part.mem(eng), memory(memory::desc(dd, dt::f32, strides), eng, base), 'o', key);
      }
    return out;
  }
};

namespace {
const UNetImpl& impl_of(const UNet& net) {
  const auto m = std::dynamic_pointer_cast<UNetImpl>(net.module());
  if (!m) throw std::runtime_error("not a native U-Net module");
  return *m;
}
}  // namespace

std::string onednn_unet_unsupported(const UNet& net) {
  const UNetConfig& c = net.config();
  if (c.dims != 2 && c.dims != 3) return "only 2D and 3D networks";
  if (c.norm != "instance" && c.norm != "batch" && c.norm != "none") return "norm '" + c.norm + "'";
  if (net.is_training()) return "training mode";
  if (!net.device().is_cpu()) return "device " + net.device().str();
  return {};
}

bool onednn_engine_enabled() { return env_switch("VOXSEG_ONEDNN_ENGINE", true); }

OnednnUNet::OnednnUNet(const UNet& net, bool bf16) {
  const std::string why = onednn_unet_unsupported(net);
  if (!why.empty()) throw std::runtime_error("oneDNN engine: " + why);
  torch::NoGradGuard no_grad;
  impl_ = std::make_unique<Impl>(impl_of(net), bf16);
}

OnednnUNet::~OnednnUNet() = default;

at::Tensor OnednnUNet::forward(const at::Tensor& tiles) { return impl_->forward(tiles); }

}  // namespace voxseg::models::detail

namespace voxseg::models {
void release_inference_buffers() { detail::buffer_pool().release(); }
}  // namespace voxseg::models
