#pragma once
#include <CLI/CLI.hpp>

#include "voxseg/io/volume_io.h"

namespace voxseg::cli {

/// Declares the options that say how volumes are read (the same flags in every program that reads
/// volumes): --series UID, --allow-tilt and --slice-spacing-tolerance.
void add_read_options(CLI::App& app, io::ReadOptions& read);

}  // namespace voxseg::cli
