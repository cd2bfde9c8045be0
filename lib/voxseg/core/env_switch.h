#pragma once
// A/B switches read from the environment (VOXSEG_ONEDNN_ENGINE, VOXSEG_TORCHSCRIPT_OPTIMIZE,
// VOXSEG_RESAMPLE_ALL_CLASSES): two paths that give the same result, one chosen for benchmarks.

namespace voxseg {

/// The switch's value: "0" is off, "1" is on, unset (or anything else) is `default_on`.
bool env_switch(const char* name, bool default_on);

}  // namespace voxseg
