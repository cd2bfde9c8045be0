#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/refine/cache.h"
#include "voxseg/refine/network.h"
#include "voxseg/refine/prompts.h"
#include "voxseg/refine/transforms.h"

namespace voxseg::refine {

/// How refined masks combine with an initial label map (--labels).
enum class MergeMode {
  Replace,    ///< the refined masks only
  Intersect,  ///< a voxel keeps its initial label where that label's refined mask is on
  Union,      ///< initial labels kept; background takes a refined label where one is on
};
MergeMode parse_merge_mode(const std::string& text);  ///< "replace|intersect|union"; Error(Usage)

enum class Multimask { Auto, On, Off };
Multimask parse_multimask(const std::string& text);  ///< "auto|on|off"; Error(Usage)

struct EngineOptions {
  Preset preset = Preset::Sam;
  Multimask multimask = Multimask::Auto;  ///< Auto: on for a prompt of one point and no box
  int64_t batch_size = 1;                 ///< slices per encoder call
  /// Prompts per decoder call. Without propagate, the prompts of consecutive slices are decoded
  /// together (each with its own slice's embedding) up to this many; 1 decodes slice by slice.
  int64_t decode_batch = 16;
  bool propagate = false;                 ///< 3D boxes: each slice's box tightened to the previous mask
  int64_t margin = 0;                     ///< pixels around the previous mask's box (--propagate)
  MergeMode mode = MergeMode::Replace;
  bool want_logits = false;
};

/// Logit written outside the prompted slices and boxes in the logits volume.
constexpr float kOutsideLogit = -1000.0f;

struct EngineResult {
  at::Tensor labels;  ///< int16 [Z,Y,X]
  at::Tensor logits;  ///< float32 [L,Z,Y,X], channel i = labels()[i] (want_logits only)
  std::vector<int64_t> label_values;
  Json report;        ///< prompts (per slice, per prompt: iou, mask), counters, timings
};

/// Segments the prompted slices of an 8-bit image, uint8 [Z,Y,X] (grey) or [3,Z,Y,X] (RGB), slices
/// across `prompts.axis`. Each slice is encoded once (or read from `cache`), in batches; each prompt
/// is decoded, its mask upsampled as the preset's reference code does and kept inside its box;
/// where masks overlap the highest logit wins. `initial` (int, [Z,Y,X]) is merged by options.mode.
EngineResult run_engine(const at::Tensor& image8, const PromptSet& prompts, PromptNetwork& network,
                        const EngineOptions& options, const EmbeddingCache& cache, const at::Tensor& initial = {},
                        Progress progress = {});

/// Combines one slice. label_logits float [L,H,W] holds, per output label values[l], the highest
/// logit of its prompts (kOutsideLogit where it has none); a label is on where its logit > 0 and the
/// refined label of a pixel is the one with the highest logit. initial int [H,W] (or undefined).
/// Replace: the refined labels. Intersect: initial where the initial label's own logit > 0, else 0.
/// Union: initial where non-zero, else the refined label. Returns int16 [H,W].
at::Tensor merge_slice(const at::Tensor& label_logits, const std::vector<int64_t>& values, const at::Tensor& initial,
                       MergeMode mode);

}  // namespace voxseg::refine
