// voxseg: git-style front. `voxseg <verb> args...` executes voxseg-<verb> from the same folder
// (then from PATH), so both spellings work in scripts and pipelines.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/cli/commands.h"
#include "voxseg/core/error.h"
#include "voxseg/core/runtime_info.h"
#include "voxseg/core/threads.h"
#include "voxseg/core/version.h"

namespace fs = std::filesystem;

namespace {
fs::path own_folder() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path();
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (std::string rest = path ? path : ""; !rest.empty();) {
    const size_t colon = std::min(rest.find(':'), rest.size());
    const std::string dir = rest.substr(0, colon);
    rest = colon < rest.size() ? rest.substr(colon + 1) : "";
    if (!dir.empty() && ::access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

bool has_verbose_flag(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-v" || arg == "-vv" || arg == "--verbose") return true;
  }
  return false;
}

void print_help(FILE* out) {
  std::fprintf(out,
               "voxseg %s: segmentation of medical volumes\n\n"
               "Usage: voxseg <command> [options]    (same as voxseg-<command> [options])\n"
               "       voxseg <command> --help\n\nCommands:\n",
               voxseg::version());
  const fs::path dir = own_folder();
  for (const auto& c : voxseg::cli::commands()) {
    const bool present = fs::exists(dir / ("voxseg-" + c.name)) || on_path("voxseg-" + c.name);
    std::fprintf(out, "  %-9s %s%s\n", c.name.c_str(), c.summary.c_str(), present ? "" : " (not installed)");
  }
  std::fprintf(out,
               "\nCommon options: -q/--quiet, -v/--verbose, --json, -f/--force, --threads N, --version\n"
               "Exit codes: 0 ok, 1 internal, 2 usage, 3 bad input, 4 bad model, 5 cannot write,\n"
               "            6 device unavailable, 7 network/PACS, 8 some cases of a batch failed\n");
}
}  // namespace

int main(int argc, char** argv) {
  using voxseg::ExitCode;
  if (argc < 2) {
    print_help(stderr);
    return static_cast<int>(ExitCode::Usage);
  }
  const std::string verb = argv[1];
  if (verb == "-h" || verb == "--help" || verb == "help") {
    print_help(stdout);
    return 0;
  }
  if (verb == "version" && argc > 2 && std::string(argv[2]) == "--json") {
    voxseg::set_compute_threads(0);  // report the threads a program would use by default
    std::printf(
        "{\"voxseg\": \"%s\", \"revision\": \"%s\", \"itk\": \"%s\", \"dcmtk\": \"%s\", "
        "\"libtorch\": \"%s\", \"cuda_built\": %s, \"runtime\": %s}\n",
        voxseg::version(), voxseg::git_revision(), voxseg::itk_version(), voxseg::dcmtk_version(),
        voxseg::torch_version(), voxseg::built_with_cuda() ? "true" : "false", voxseg::runtime_json().dump().c_str());
    return 0;
  }
  if (verb == "--version" || verb == "version") {
    std::printf("voxseg %s (revision %s; ITK %s, DCMTK %s, LibTorch %s, CUDA %s)\n", voxseg::version(),
                voxseg::git_revision(), voxseg::itk_version(), voxseg::dcmtk_version(), voxseg::torch_version(),
                voxseg::built_with_cuda() ? "built" : "not built");
    if (has_verbose_flag(argc, argv)) {  // the math libraries actually loaded (docs/performance.md)
      voxseg::set_compute_threads(0);
      std::printf("%s\n", voxseg::describe_runtime().c_str());
    }
    return 0;
  }
  if (verb.empty() || verb[0] == '-' || verb.find('/') != std::string::npos) {
    std::fprintf(stderr, "voxseg: error: unknown option '%s'; see voxseg --help\n", verb.c_str());
    return static_cast<int>(ExitCode::Usage);
  }
  const std::string program = "voxseg-" + verb;
  std::vector<char*> args;
  args.push_back(const_cast<char*>(program.c_str()));
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);

  const fs::path local = own_folder() / program;
  if (fs::exists(local)) ::execv(local.c_str(), args.data());
  ::execvp(program.c_str(), args.data());
  if (errno == ENOENT) {
    std::fprintf(stderr, "voxseg: error: unknown command '%s'; see voxseg --help\n", verb.c_str());
    return static_cast<int>(ExitCode::Usage);
  }
  std::fprintf(stderr, "voxseg: error: cannot run '%s': %s\n", program.c_str(), std::strerror(errno));
  return static_cast<int>(ExitCode::Internal);
}
