#pragma once
// Multi-process data-parallel training over TCP (c10d with Gloo): a small torch-free interface so
// that the c10d and Gloo headers stay in distributed.cpp (docs/training.md, "Several processes").
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace voxseg::train {

/// Where this process sits in a data-parallel run. Zero / negative / empty fields mean "not given":
/// resolve_distributed() fills them from the environment.
struct DistributedOptions {
  int world_size = 0;        ///< processes in the run; 1: single process (no process group)
  int rank = -1;             ///< 0..world_size-1; rank 0 validates, writes logs, checkpoints, bundle
  std::string master_addr;   ///< host of rank 0, which serves the rendezvous store
  int master_port = 0;       ///< TCP port of that store (default 29500)
  double timeout_s = 600;    ///< rendezvous, collectives and barriers give up after this long
  std::string origin;        ///< where world size and rank came from (for messages), set by resolve
};

/// Looks up an environment variable; nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;

/// Fills the fields not given: WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT (torchrun's names) first;
/// else, inside a Slurm job step (SLURM_STEP_ID set, i.e. started by srun), SLURM_NTASKS,
/// SLURM_PROCID, the first host of SLURM_STEP_NODELIST / SLURM_JOB_NODELIST and port
/// 20000 + SLURM_JOB_ID % 10000; else a single process. Throws Error(Usage) for a rank outside
/// 0..world_size-1, a world size < 1, a port outside 1..65535 or an unparsable variable (named).
DistributedOptions resolve_distributed(DistributedOptions given, const EnvLookup& env = {});

/// First host name of a Slurm node list ("gpu[03-05,09],cpu1" -> "gpu03"). Exposed for tests.
std::string first_slurm_host(const std::string& nodelist);

/// True when this build has the Gloo backend (libgloo-dev headers were found at compile time).
bool distributed_available();

/// A process group of `world_size` ranks over TCP: rank 0 serves a key-value store at
/// master_addr:master_port, every rank connects to it, and Gloo opens a full mesh between them.
/// Every failure (a rank that does not join, dies, or stops answering within timeout_s) throws
/// Error(Network) with one line naming this rank and the operation, never hangs.
class ProcessGroup {
 public:
  /// Rendezvous. Throws Error(Network) if the ranks do not all join within the timeout or the
  /// port cannot be opened, Error(NoDevice) if this build has no Gloo.
  explicit ProcessGroup(const DistributedOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int world_size() const;

  /// Sums a CPU float tensor (contiguous) over all ranks, in place; every rank gets the same bytes.
  void all_reduce_sum(at::Tensor& tensor, const char* what);
  /// Copies rank `root`'s tensor (CPU, contiguous) into every rank's tensor, in place.
  void broadcast(at::Tensor& tensor, int root, const char* what);
  /// Waits until every rank has arrived.
  void barrier(const char* what);

  /// Publishes a value under `key` in the store (typically from rank 0).
  void publish(const std::string& key, const std::string& value);
  /// Waits for `key` (up to `timeout_s`, default the group's timeout; a vanished rank 0 ends the
  /// wait at once) and returns its value.
  std::string receive(const std::string& key, double timeout_s = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxseg::train
