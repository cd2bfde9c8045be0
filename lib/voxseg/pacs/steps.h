#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/pacs/listener.h"

namespace voxseg::pacs {

/// The command lines of a series' segmentation steps, each run as a child process by the listener
/// (docs/pacs.md, "Segmentation"). Without a refine step: voxseg-predict --dicom-seg writes the SEG.
/// With one: voxseg-predict writes labels, voxseg-refine refines them, voxseg-convert builds the SEG.

/// voxseg-predict -m MODEL | --nnunet DIR -i INSTANCES -o LABELS [--dicom-seg] --force [options].
/// --dicom-seg only without a refine step (with one, the SEG is built from the refined labels).
std::vector<std::string> predict_command(const ListenOptions& options, const std::filesystem::path& instances,
                                         const std::filesystem::path& labels);

/// voxseg-refine --sam CKPT -i INSTANCES --labels LABELS -o REFINED --force [--preset --mode --margin
/// --device --threads] [refine args].
std::vector<std::string> refine_command(const ListenOptions& options, const std::filesystem::path& instances,
                                        const std::filesystem::path& labels, const std::filesystem::path& refined);

/// Who made a refined segmentation, for the SEG's algorithm identification: the predict step's model
/// (name and sha256 from its report, LABELS.json) refined by SAM or MedSAM (the checkpoint's sha256).
struct RefineProvenance {
  std::string model_name, model_sha256, preset, sam_sha256;
};
/// Reads the model's name and sha256 from predict's report; a missing or unreadable report leaves
/// them empty (the SEG then names only the refinement).
RefineProvenance refine_provenance(const ListenOptions& options, const std::filesystem::path& predict_report,
                                   const std::string& sam_sha256);

/// voxseg-convert REFINED SEG --seg-reference INSTANCES [--label-table MODEL | NNUNET/dataset.json]
/// --algorithm-name "MODEL + SAM" --algorithm-parameters "model_sha256=...; refine=sam; sam_sha256=..." --force.
std::vector<std::string> seg_command(const ListenOptions& options, const std::filesystem::path& refined,
                                     const std::filesystem::path& instances, const std::filesystem::path& seg,
                                     const RefineProvenance& provenance);

/// A listen option whose value goes to a step's program as it is (--folds, --precision, --device,
/// --refine-*): one table, from which the app declares them.
struct PassThroughOption {
  const char* flag;
  std::string* value;
  const char* help;
};
std::vector<PassThroughOption> pass_through_options(ListenOptions& options);

/// Checks the refine options before the listener starts: Error(Usage) for --refine-* without
/// --refine-sam or a bad preset, mode or margin; Error(BadModel) when the checkpoint is not a file.
void check_refine_options(const ListenOptions& options);

/// `name` next to this program when it is there, else `name` (found on PATH by execvp).
std::string own_program(const std::string& name);

}  // namespace voxseg::pacs
