#include "voxseg/train/detail/rank_sync.h"

#include <torch/torch.h>

#include <cstdlib>

#include "voxseg/core/error.h"
#include "voxseg/core/sha256.h"
#include "voxseg/train/augment.h"

namespace voxseg::train::detail {

uint64_t rank_seed(uint64_t seed, int rank) {
  return rank == 0 ? seed : mix_seed(seed, 0x72616E6B00000000ULL + uint64_t(rank));
}

at::Tensor flatten(const std::vector<at::Tensor>& ts, int64_t extra, bool grads) {
  std::vector<at::Tensor> parts;
  parts.reserve(ts.size() + 1);
  for (const auto& p : ts) {
    const at::Tensor& t = grads ? p.grad() : p;
    parts.push_back(t.defined() ? t.detach().to(torch::kCPU, torch::kFloat).reshape({-1})
                                : torch::zeros({p.numel()}, torch::kFloat));
  }
  parts.push_back(torch::zeros({extra}, torch::kFloat));
  return torch::cat(parts);
}

void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& ts, bool grads) {
  torch::NoGradGuard no_grad;
  int64_t off = 0;
  for (auto& p : ts) {
    const at::Tensor part = flat.slice(0, off, off + p.numel()).view(p.sizes()).to(p.device(), p.scalar_type());
    off += p.numel();
    if (!grads) p.copy_(part);
    else if (p.grad().defined()) p.mutable_grad().copy_(part);
    else p.mutable_grad() = part.clone();
  }
}

int sum_with_stop_signals(ProcessGroup& g, at::Tensor& buffer, int own_signal, const char* what) {
  const int64_t first_slot = buffer.numel() - g.world_size();
  buffer.narrow(0, first_slot + g.rank(), 1).fill_(double(own_signal));
  g.all_reduce_sum(buffer, what);
  return int(buffer.narrow(0, first_slot, g.world_size()).max().item<double>());
}

StepAgreement all_reduce_step(ProcessGroup& g, std::vector<at::Tensor>& params, double loss, int own_signal) {
  const int world = g.world_size();
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  at::Tensor flat = flatten(params, 1 + world, true);
  flat.accessor<float, 1>()[n] = float(loss);
  StepAgreement a;
  a.stop_signal = sum_with_stop_signals(g, flat, own_signal, "the gradient all-reduce");
  a.loss = double(flat[n].item<float>()) / world;
  flat.slice(0, 0, n).div_(float(world));
  unflatten(flat, params, true);
  return a;
}

int all_reduce_values(ProcessGroup* g, std::vector<double>& values, int own_signal, const char* what) {
  if (!g) return own_signal;
  at::Tensor t = torch::zeros({int64_t(values.size()) + g->world_size()}, torch::kDouble);
  auto acc = t.accessor<double, 1>();
  for (size_t i = 0; i < values.size(); ++i) acc[int64_t(i)] = values[i];
  const int agreed = sum_with_stop_signals(*g, t, own_signal, what);
  auto r = t.accessor<double, 1>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = r[int64_t(i)];
  return agreed;
}

std::string parameters_sha256(models::UNet& net) {
  std::string bytes;
  for (const auto& p : net.parameters()) {
    const at::Tensor c = p.detach().to(torch::kCPU).contiguous();
    bytes.append(static_cast<const char*>(c.data_ptr()), size_t(c.numel()) * c.element_size());
  }
  return sha256_hex(bytes);
}

std::string setup_error_text(const Error& e) { return fmt::format("error\n{}\n{}", int(e.code()), e.what()); }

void fail_if_setup_error(const std::string& text) {
  if (text.rfind("error\n", 0) != 0) return;
  const auto nl = text.find('\n', 6);
  const int code = std::atoi(text.substr(6, nl - 6).c_str());
  fail(static_cast<ExitCode>(code), "rank 0 stopped: {}", nl == std::string::npos ? text : text.substr(nl + 1));
}

}  // namespace voxseg::train::detail
