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
  std::filesystem::path seg;            ///< `<name>.seg.dcm`: DICOM SEG (PredictOptions::dicom_seg)
};
CaseOutputs case_outputs(const std::filesystem::path& labels_path);

/// The DICOM series a case was read from (its one input is a DICOM folder or file), or "".
std::string dicom_source(const ChannelCase& input);

/// predict --dicom-seg up front: Error(Usage) when no case is read from DICOM.
void check_dicom_seg_inputs(const std::vector<ChannelCase>& cases);

/// Reads a case, predicts it and writes its outputs atomically: report and probabilities first, the
/// label map last (so an existing label map means the case is complete and a rerun can skip it).
/// The report holds `provenance` plus timings per stage, device, precision, tiles, peak RSS and the
/// model's id and sha256; it is returned too. With options.dicom_seg a DICOM SEG of the labels over
/// the source series is written before the label map (a case not read from DICOM fails, exit 3,
/// before any work; a prediction without any label gets no SEG, with a warning).
/// Throws Error as read/predict/write do.
Json run_case(const ChannelCase& input, Model& model, const PredictOptions& options, const CaseOutputs& outputs,
              bool overwrite, const Json& provenance, Progress progress = {});

}  // namespace voxseg::infer
