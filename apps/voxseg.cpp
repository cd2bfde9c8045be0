// voxseg: git-style front. `voxseg <verb> args...` executes voxseg-<verb> from the same folder
// (then from PATH), so both spellings work in scripts and pipelines.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/core/version.h"

namespace fs = std::filesystem;

namespace {
struct Verb {
  const char* name;
  const char* summary;
};
constexpr Verb kVerbs[] = {
    {"info", "describe volumes and DICOM folders: geometry, intensities, labels, series"},
    {"convert", "convert between NIfTI, NRRD, MetaImage and DICOM series"},
    {"phantom", "make synthetic CT, MR and cell volumes with ground-truth labels"},
    {"predict", "segment volumes with a model bundle or an nnU-Net v2 result folder"},
    {"eval", "score predictions against references: overlap, surface and instance metrics"},
    {"train", "train a U-Net on a labeled dataset and write a model bundle"},
    {"refine", "segment or refine masks with box-prompted SAM / MedSAM (images and volumes)"},
};

fs::path own_folder() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path();
}

void print_help(FILE* out) {
  std::fprintf(out,
               "voxseg %s: segmentation of medical volumes\n\n"
               "Usage: voxseg <command> [options]    (same as voxseg-<command> [options])\n"
               "       voxseg <command> --help\n\nCommands:\n",
               voxseg::version());
  const fs::path dir = own_folder();
  for (const auto& v : kVerbs) {
    const bool present = fs::exists(dir / (std::string("voxseg-") + v.name));
    std::fprintf(out, "  %-9s %s%s\n", v.name, v.summary, present ? "" : " (not installed)");
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
    std::printf("{\"voxseg\": \"%s\", \"revision\": \"%s\", \"itk\": \"%s\", \"dcmtk\": \"%s\", "
                "\"libtorch\": \"%s\", \"cuda_built\": %s}\n",
                voxseg::version(), voxseg::git_revision(), voxseg::itk_version(), voxseg::dcmtk_version(),
                voxseg::torch_version(), voxseg::built_with_cuda() ? "true" : "false");
    return 0;
  }
  if (verb == "--version" || verb == "version") {
    std::printf("voxseg %s (revision %s; ITK %s, DCMTK %s, LibTorch %s, CUDA %s)\n", voxseg::version(),
                voxseg::git_revision(), voxseg::itk_version(), voxseg::dcmtk_version(), voxseg::torch_version(),
                voxseg::built_with_cuda() ? "built" : "not built");
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
