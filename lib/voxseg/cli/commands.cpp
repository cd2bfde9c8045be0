#include "voxseg/cli/commands.h"

namespace voxseg::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"info", "Describe volumes and DICOM folders: geometry, intensities, labels, series"},
      {"convert", "Convert between NIfTI, NRRD, MetaImage and DICOM series"},
      {"phantom", "Make synthetic CT, MR and cell volumes with ground-truth labels"},
      {"predict", "Segment volumes with a model bundle or an nnU-Net v2 result folder"},
      {"refine", "Refine masks or segment from boxes with SAM / MedSAM"},
      {"eval", "Score predictions against references: overlap, surface and instance metrics"},
      {"train", "Train a U-Net on a labeled dataset into a model bundle"},
      {"pacs", "DICOM networking: echo, find, get, move, store, and a segmenting listener"},
  };
  return kCommands;
}

const Command* find_command(std::string_view name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace voxseg::cli
