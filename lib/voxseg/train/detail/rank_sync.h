#pragma once
// What the ranks of a data-parallel run exchange besides the setup: gradients, sums and each rank's
// pending stop signal, so that all ranks take the same steps and stop together (distributed.h).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/models/unet.h"
#include "voxseg/train/distributed.h"

namespace voxseg::train::detail {

/// Rank 0 keeps the run's seed, so a one-process run is unchanged; other ranks draw their own batches.
uint64_t rank_seed(uint64_t seed, int rank);

/// Flattens tensors (or their gradients) into one float32 CPU buffer with `extra` zero slots at the end.
at::Tensor flatten(const std::vector<at::Tensor>& tensors, int64_t extra, bool grads);
/// Copies a flatten() buffer back into the tensors (or their gradients).
void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& tensors, bool grads);

/// Sums `buffer` (CPU, 1-D) over the ranks. Its last world-size slots carry the ranks' pending stop
/// signals (0: none), each rank in its own slot so that the sum keeps them apart; returns the largest,
/// the same on every rank.
int sum_with_stop_signals(ProcessGroup& group, at::Tensor& buffer, int own_signal, const char* what);

/// One all-reduce per step: the gradients (then averaged), the loss (averaged) and the stop signals.
struct StepAgreement {
  double loss = 0;
  int stop_signal = 0;
};
StepAgreement all_reduce_step(ProcessGroup& group, std::vector<at::Tensor>& params, double loss, int own_signal);

/// Sums `values` over the ranks and returns the agreed stop signal; without a group (one process)
/// leaves `values` as they are and returns `own_signal`.
int all_reduce_values(ProcessGroup* group, std::vector<double>& values, int own_signal, const char* what);

/// SHA-256 of the parameters' float bytes in registration order: equal on every rank of a run.
std::string parameters_sha256(models::UNet& net);

/// Rank 0 stopping during setup hands the other ranks its error as text, so they fail with the same
/// exit code and message; fail_if_setup_error throws it (and ignores any other text).
std::string setup_error_text(const Error& error);
void fail_if_setup_error(const std::string& text);

}  // namespace voxseg::train::detail
