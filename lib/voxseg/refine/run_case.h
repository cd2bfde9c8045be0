#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/core/volume.h"
#include "voxseg/refine/engine.h"

namespace voxseg::refine {

/// Where a case's prompts come from: --box/--point, --labels or --prompts (exactly one kind).
struct PromptSource {
  std::vector<std::string> boxes, points;  ///< as given on the command line
  std::string labels;                      ///< label map to refine
  std::string prompts_json;
  std::string axis = "z";                  ///< --labels: slices across this axis
  int64_t margin = 0;                      ///< --labels: pixels around each component's box
};

struct CaseOptions {
  EngineOptions engine;
  std::string window = "auto";  ///< parse_intensity_mapping's names, or auto
  PromptSource prompts;
  std::filesystem::path logits;  ///< optional float32 logits output
  bool force = false;
  bool redo = false;  ///< batch: the case's output is missing, so its logits are leftovers: overwritten
};

/// Checks the prompt source is one kind and the option values parse. Error(Usage).
void check_prompt_options(const CaseOptions& options);

/// Checks what can be checked before loading the model: check_prompt_options, and the outputs may be
/// written. Error(Usage) / Error(CannotWrite).
void check_case_options(const CaseOptions& options, const std::filesystem::path& output);

/// A case read and its prompts checked, before the network is loaded.
struct PreparedCase {
  std::string input;
  Volume image;        ///< as read (geometry of every output)
  at::Tensor image8;   ///< uint8 [Z,Y,X] or [3,Z,Y,X]
  std::string window;  ///< the intensity mapping used
  PromptSet prompts;
  at::Tensor initial;  ///< --labels: int16 [Z,Y,X]
};

/// Reads one input (a volume voxseg reads or an 8-bit PNG/JPEG/TIFF/BMP image), maps it to 8 bit and
/// builds its prompts. Error(BadInput) for unreadable data, Error(Usage) for prompts that do not fit
/// the image (outside, empty, 3D box on a 2D image) or a 2D image output for a volume.
PreparedCase prepare_case(const std::string& input, const std::filesystem::path& output, const CaseOptions& options);

/// Refines a prepared case into `output` (input grid and geometry; a 2D image extension writes an
/// 8-bit label image) and the optional logits, written first: the output marks the case done. Returns the report: input, output, logits, window,
/// labels, counts, timings, per-prompt IoU and chosen mask.
Json refine_case(const PreparedCase& prepared, const std::filesystem::path& output, PromptNetwork& network,
                 const CaseOptions& options, const EmbeddingCache& cache, Progress progress = {});

}  // namespace voxseg::refine
