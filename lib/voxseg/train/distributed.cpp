// Data-parallel plumbing: rendezvous through c10d's TCPStore, collectives through c10d's Gloo process
// group (CPU tensors over TCP). The only file that includes c10d or Gloo headers; a build without
// libgloo-dev's headers compiles a stub that refuses world sizes > 1 with a clear message.
#include "voxseg/train/distributed.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"

#if __has_include(<gloo/config.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define VOXSEG_HAVE_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO  // c10d's header hides ProcessGroupGloo without it
#endif
#include <c10/util/Logging.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#else
#define VOXSEG_HAVE_GLOO 0
#endif

namespace voxseg::train {
namespace {

int parse_int(const char* what, const std::string& text) {
  int v = 0;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  if (text.empty() || r.ec != std::errc() || r.ptr != end)
    fail(ExitCode::Usage, "{}='{}' is not a whole number", what, text);
  return v;
}

// The first line of a foreign error message (c10d's can carry several).
[[maybe_unused]] std::string first_line(std::string s) {
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

[[maybe_unused]] bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // A list of "name" or "prefix[ranges]suffix" entries separated by commas outside brackets.
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < nodelist.size(); ++i) {
    const char c = nodelist[i];
    if (c == ',' && depth == 0) break;
    if (c == '[') {
      ++depth;
      // The first number of the range: up to '-', ',' or ']'.
      size_t j = i + 1;
      while (j < nodelist.size() && nodelist[j] != '-' && nodelist[j] != ',' && nodelist[j] != ']') out += nodelist[j++];
      while (j < nodelist.size() && nodelist[j] != ']') ++j;
      i = j;
      --depth;
      continue;
    }
    out += c;
  }
  return out;
}

DistributedOptions resolve_distributed(DistributedOptions d, const EnvLookup& lookup) {
  const EnvLookup env = lookup ? lookup : EnvLookup([](const char* k) -> const char* { return std::getenv(k); });
  auto has = [&](const char* k) { return env(k) != nullptr && *env(k) != '\0'; };
  auto get = [&](const char* k) { return std::string(env(k)); };
  // torchrun's variables win; Slurm's only inside a job step that srun started (SLURM_STEP_ID), so a
  // batch script that calls voxseg directly with --ntasks=4 does not wait for ranks that never come.
  const bool slurm = !has("WORLD_SIZE") && has("SLURM_STEP_ID") && has("SLURM_NTASKS") && has("SLURM_PROCID");
  std::string origin = "--world-size";
  if (d.world_size <= 0) {
    if (has("WORLD_SIZE")) {
      d.world_size = parse_int("WORLD_SIZE", get("WORLD_SIZE"));
      origin = "WORLD_SIZE";
    } else if (slurm) {
      d.world_size = parse_int("SLURM_NTASKS", get("SLURM_NTASKS"));
      origin = "SLURM_NTASKS";
    } else {
      d.world_size = 1;
      origin = "default";
    }
  }
  if (d.rank < 0) {
    if (has("RANK")) d.rank = parse_int("RANK", get("RANK"));
    else if (slurm) d.rank = parse_int("SLURM_PROCID", get("SLURM_PROCID"));
    else d.rank = 0;
  }
  if (d.master_addr.empty()) {
    if (has("MASTER_ADDR")) d.master_addr = get("MASTER_ADDR");
    else if (slurm && has("SLURM_STEP_NODELIST")) d.master_addr = first_slurm_host(get("SLURM_STEP_NODELIST"));
    else if (slurm && has("SLURM_JOB_NODELIST")) d.master_addr = first_slurm_host(get("SLURM_JOB_NODELIST"));
    else d.master_addr = "127.0.0.1";
  }
  if (d.master_port <= 0) {
    if (has("MASTER_PORT")) d.master_port = parse_int("MASTER_PORT", get("MASTER_PORT"));
    else if (slurm && has("SLURM_JOB_ID")) d.master_port = 20000 + parse_int("SLURM_JOB_ID", get("SLURM_JOB_ID")) % 10000;
    else d.master_port = 29500;
  }
  d.origin = origin;
  if (d.world_size < 1) fail(ExitCode::Usage, "world size {} (from {}) must be at least 1", d.world_size, origin);
  if (d.rank >= d.world_size)
    fail(ExitCode::Usage, "rank {} is outside 0..{} (world size {} from {})", d.rank, d.world_size - 1, d.world_size,
         origin);
  if (d.master_port < 1 || d.master_port > 65535)
    fail(ExitCode::Usage, "master port {} is outside 1..65535", d.master_port);
  if (!(d.timeout_s > 0)) fail(ExitCode::Usage, "the distributed timeout must be positive, not {}", d.timeout_s);
  return d;
}

bool distributed_available() { return VOXSEG_HAVE_GLOO != 0; }

#if VOXSEG_HAVE_GLOO

struct ProcessGroup::Impl {
  DistributedOptions options;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;

  // Runs a c10d call; any failure becomes one line naming this rank and the operation.
  template <typename F>
  auto guarded(const char* what, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const Error&) {
      throw;
    } catch (const c10::Error& e) {
      failed(what, e.what_without_backtrace());
    } catch (const std::exception& e) {
      failed(what, e.what());
    }
  }
  [[noreturn]] void failed(const char* what, const std::string& why) const {
    std::string w = first_line(why);
    while (!w.empty() && (w.back() == '.' || w.back() == '!')) w.pop_back();
    fail(ExitCode::Network, "rank {} of {}: {} failed: {} (rank 0 at {}:{}, --dist-timeout {:g} s); {}", options.rank,
         options.world_size, what, w, options.master_addr, options.master_port, options.timeout_s,
         joined ? "another rank stopped or stopped answering (see its own error)"
                : "start every rank with the same --world-size, --master-addr and --master-port");
  }
  bool joined = false;
};

ProcessGroup::ProcessGroup(const DistributedOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.options = options;
  m.timeout = std::chrono::milliseconds(int64_t(options.timeout_s * 1000));
  // c10d reports socket retries and timeouts through glog on stderr; voxseg turns them into one-line
  // errors instead, so glog keeps quiet unless -vv asks for debugging output.
  if (!log::enabled(log::Level::Debug)) FLAGS_minloglevel = google::GLOG_FATAL;
  log::info("rank {} of {}: joining through {}:{} (world size from {})", options.rank, options.world_size,
            options.master_addr, options.master_port, options.origin);
  m.guarded("rendezvous with the other ranks", [&] {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(options.master_port);
    so.isServer = options.rank == 0;
    so.numWorkers = size_t(options.world_size);
    so.waitWorkers = true;
    so.timeout = m.timeout;
    m.store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, so);
  });
  m.guarded("connecting the Gloo process group", [&] {
    auto go = c10d::ProcessGroupGloo::Options::create(m.timeout);
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(options.master_addr))
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    go->threads = 2;
    m.group = c10::make_intrusive<c10d::ProcessGroupGloo>(m.store, options.rank, options.world_size, go);
  });
  m.joined = true;
  log::info("rank {} of {}: process group ready", options.rank, options.world_size);
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->options.rank; }
int ProcessGroup::world_size() const { return impl_->options.world_size; }

void ProcessGroup::all_reduce_sum(at::Tensor& tensor, const char* what) {
  impl_->guarded(what, [&] {
    std::vector<at::Tensor> t{tensor};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = impl_->timeout;
    impl_->group->allreduce(t, o)->wait(impl_->timeout);
  });
}

void ProcessGroup::broadcast(at::Tensor& tensor, int root, const char* what) {
  impl_->guarded(what, [&] {
    std::vector<at::Tensor> t{tensor};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = impl_->timeout;
    impl_->group->broadcast(t, o)->wait(impl_->timeout);
  });
}

void ProcessGroup::barrier(const char* what) {
  impl_->guarded(what, [&] {
    c10d::BarrierOptions o;
    o.timeout = impl_->timeout;
    impl_->group->barrier(o)->wait(impl_->timeout);
  });
}

void ProcessGroup::publish(const std::string& key, const std::string& value) {
  impl_->guarded("publishing to the store", [&] {
    impl_->store->set("voxseg/" + key, std::vector<uint8_t>(value.begin(), value.end()));
  });
}

std::string ProcessGroup::receive(const std::string& key, double timeout_s) {
  const auto wait = timeout_s > 0 ? std::chrono::milliseconds(int64_t(timeout_s * 1000)) : impl_->timeout;
  return impl_->guarded("waiting for rank 0", [&] {
    impl_->store->wait({"voxseg/" + key}, wait);
    const auto v = impl_->store->get("voxseg/" + key);
    return std::string(v.begin(), v.end());
  });
}

#else  // no Gloo in this build

struct ProcessGroup::Impl {
  DistributedOptions options;
};

ProcessGroup::ProcessGroup(const DistributedOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  fail(ExitCode::NoDevice,
       "world size {}: this build has no Gloo backend for multi-process training (install libgloo-dev and rebuild)",
       options.world_size);
}
ProcessGroup::~ProcessGroup() = default;
int ProcessGroup::rank() const { return impl_->options.rank; }
int ProcessGroup::world_size() const { return impl_->options.world_size; }
void ProcessGroup::all_reduce_sum(at::Tensor&, const char*) {}
void ProcessGroup::broadcast(at::Tensor&, int, const char*) {}
void ProcessGroup::barrier(const char*) {}
void ProcessGroup::publish(const std::string&, const std::string&) {}
std::string ProcessGroup::receive(const std::string&, double) { return {}; }

#endif

}  // namespace voxseg::train
