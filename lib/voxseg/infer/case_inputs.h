#pragma once
#include <string>
#include <vector>

#include "voxseg/core/volume.h"
#include "voxseg/io/case_list.h"
#include "voxseg/io/volume_io.h"

namespace voxseg::infer {

/// One case for predict: its name and one file per channel (or one multi-channel file).
struct ChannelCase {
  std::string name;
  std::vector<std::string> paths;
  std::string error;  ///< non-empty: the case is incomplete (reported as failed, the batch continues)
};

/// Groups nnU-Net-style channel files: with `channels` > 1, inputs named <case>_0000, <case>_0001, ...
/// form one case <case>; other inputs are single multi-channel files. With one channel a trailing
/// "_0000" is dropped from the case name. Cases keep the order of their first file.
std::vector<ChannelCase> group_channel_files(const std::vector<io::CaseInput>& inputs, int64_t channels);

/// Reads a case: one file, or one file per channel stacked to [C,Z,Y,X] (all on the same grid).
/// Throws Error(BadInput) naming the file whose grid differs.
Volume read_case(const ChannelCase& c, const io::ReadOptions& read = {});

}  // namespace voxseg::infer
