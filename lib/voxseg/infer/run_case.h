#pragma once
#include <filesystem>
#include <string>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/infer/case_inputs.h"
#include "voxseg/infer/predictor.h"

namespace voxseg::infer {

/// Files written for one case beside its label map `<name><ext>`.
struct CaseOutputs {
  std::filesystem::path labels;         ///< label map (uint8, or uint16 above 255)
  std::filesystem::path probabilities;  ///< `<name>_probabilities<ext>`: float32 [K,Z,Y,X]
  std::filesystem::path report;         ///< `<name>.json`
};
CaseOutputs case_outputs(const std::filesystem::path& labels_path);

/// Reads a case, predicts it and writes its outputs atomically: report and probabilities first, the
/// label map last. A case is done iff its label map exists: a rerun skips it, and otherwise redoes
/// everything, so the report and probabilities are always overwritten (leftovers of a killed run,
/// whose stale temporaries are removed too) and `overwrite` (--force) applies to the label map.
/// The report holds `provenance` plus timings per stage, device, precision, tiles, peak RSS and the
/// model's id and sha256; it is returned too. Throws Error as read/predict/write do.
Json run_case(const ChannelCase& input, Model& model, const PredictOptions& options, const CaseOutputs& outputs,
              bool overwrite, const Json& provenance, Progress progress = {});

}  // namespace voxseg::infer
