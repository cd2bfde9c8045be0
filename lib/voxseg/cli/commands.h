#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace voxseg::cli {

/// One program of the suite: `voxseg <name>` runs `voxseg-<name>`.
struct Command {
  std::string name;
  std::string summary;  ///< one line, no final period; also the first line of --help and docs/<name>.md
};

/// Every program, in the order `voxseg --help` lists them. The one list of names and summaries:
/// the front, each app's --help, README's table and docs/<name>.md all carry these
/// (tests/cli/front/commands_match_docs.sh checks them).
const std::vector<Command>& commands();

/// The registered command, or nullptr.
const Command* find_command(std::string_view name);

}  // namespace voxseg::cli
