#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/pacs/peer.h"

namespace voxseg::pacs {

/// Optional refine step of the listener: voxseg-refine on predict's labels, then voxseg-convert to the SEG.
struct ListenRefine {
  std::string checkpoint;            ///< --refine-sam: empty = no refine step
  std::string preset, mode, margin;  ///< voxseg refine --preset / --mode / --margin when set
  std::vector<std::string> args;     ///< any other voxseg-refine options, passed through
};

/// `voxseg pacs listen`: receive series, segment each with voxseg-predict (and optionally refine it
/// with voxseg-refine) in child processes, send the DICOM SEG to a peer. docs/pacs.md describes the
/// spool, the journal and the guarantees.
struct ListenOptions {
  uint16_t port = 0;
  std::filesystem::path spool;
  std::vector<std::string> allow;  ///< calling AE titles accepted (required, non-empty)
  std::string model, nnunet;       ///< one of them: passed to voxseg-predict as -m / --nnunet
  Peer send_to;
  bool send_tls = false;  ///< --tls secures the listening port; this secures sending (same cert/key/ca)
  double quiet_seconds = 10;  ///< a series is complete after this long without new instances
  int workers = 1;            ///< concurrent segmentations
  int max_associations = 8;   ///< concurrent incoming associations
  std::string folds, precision, device;    ///< passed to voxseg-predict when set
  bool disable_tta = false;
  int threads = 0;
  std::vector<std::string> predict_args;  ///< any other voxseg-predict options, passed through
  ListenRefine refine;
  std::string segment_command;            ///< tests only: a program run instead of voxseg-predict, same argv
  double retry_initial_s = 2, retry_max_s = 300;  ///< send back-off: doubles from initial up to max
  int segment_attempts = 2;  ///< a crash (signal, exit 1) is retried; bad input (exit 2-5) is not
};

/// Runs until SIGTERM/SIGINT: then stops accepting, finishes the current step of each worker and
/// returns. Throws Error(Usage) for bad options, Error(Network) when the port cannot be opened,
/// Error(CannotWrite) when the spool is unusable or locked by another listener.
void run_listener(const ListenOptions& options, const NetworkOptions& network);

/// `voxseg pacs status`: counts per stage, quarantined instances, last error, age of the oldest
/// unfinished series. Throws Error(BadInput) when the folder is not a spool.
Json spool_status(const std::filesystem::path& spool);
std::string format_status(const Json& status);

}  // namespace voxseg::pacs
