#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/refine/run_case.h"

namespace voxseg::refine {

/// Batch mode of voxseg refine (docs/refine.md, "Batches"): true for several inputs, "-" (paths on
/// stdin), a folder of cases (not a DICOM series folder), or an output that is a folder (an existing
/// folder, or a name without an extension). Otherwise one input refined into one output file.
bool is_batch(const std::vector<std::string>& inputs, const std::filesystem::path& output);

/// Batch checks before any work: the prompt options (check_prompt_options); --labels must be a
/// folder of label maps named like the cases (Error(Usage) for a file, Error(BadInput) when missing);
/// --prompts a file (every case) or a folder; --logits a folder, created and proven writable
/// (Error(CannotWrite)).
void check_batch_options(const CaseOptions& options);

/// The file for case `name` in `dir`: dir/<name><ext> for exactly one volume extension (.nii.gz,
/// .nii, .nrrd, .nhdr, .mha, .mhd), as predict -o DIR names its label maps. Error(BadInput) when there
/// is none or more than one.
std::filesystem::path find_case_volume(const std::filesystem::path& dir, const std::string& name, const char* what);

/// One case's options in batch mode: --labels DIR -> find_case_volume, --prompts DIR ->
/// DIR/<name>.json, --logits DIR -> DIR/<name><ext of output>. The case is redone (its logits
/// overwritten: they are leftovers when its output is missing) and temporaries that a killed run
/// left for its outputs are removed. Error(BadInput) for a missing per-case file.
CaseOptions case_options(const CaseOptions& given, const std::string& name, const std::filesystem::path& output);

}  // namespace voxseg::refine
