#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "voxseg/checkpoint/value.h"

namespace voxseg::checkpoint {

/// Reads a file written by torch.save in the zip format (PyTorch >= 1.6, the default) without
/// Python: the pickled object tree of `<archive>/data.pkl` with CPU at::Tensor leaves whose
/// data comes from the `data/<key>` records (read once, shared between views of one storage).
/// What torch.load(path, map_location="cpu", weights_only=False) returns, except that classes
/// the reader does not model are opaque Value::Kind::Object nodes (class name, args, state).
/// Throws Error(BadModel) "cannot read checkpoint '<path>': <why>" for a missing, legacy
/// (pre-1.6), TorchScript, non-zip, truncated, corrupt or hostile file; never anything else.
ValuePtr read_pth(const std::string& path);

/// Same as read_pth for a file already in memory; `name` is used in messages.
ValuePtr read_pth_bytes(const std::string& bytes, const std::string& name);

/// Ordered parameter name -> tensor, as model.state_dict() lists them.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

struct StateDictOptions {
  /// Where the state dict sits: "" = auto ("network_weights" for nnU-Net, "state_dict", "model"
  /// for MedSAM training checkpoints, "module", else the top level, as for SAM); "/" = the top
  /// level; otherwise a key path "a/b".
  std::string key;
  /// Strip one leading "module." (DataParallel / DDP) from every name.
  bool strip_module_prefix = false;
};

/// Flattens the state dict found in `root` (nested dicts join their keys with '.'; non-tensor
/// entries are skipped). Throws Error(BadModel) when the key is missing, holds no tensors, or
/// stripping "module." makes two names equal.
StateDict state_dict(const Value& root, const StateDictOptions& options = {});

/// Convenience: read_pth + state_dict, with the file name in messages.
StateDict read_state_dict(const std::string& path, const StateDictOptions& options = {});

}  // namespace voxseg::checkpoint
