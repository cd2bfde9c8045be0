#include "voxseg/io/case_list.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/volume_io.h"

namespace fs = std::filesystem;

namespace voxseg::io {
namespace {

bool is_hidden_or_partial(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.empty() || name[0] == '.' || name.find(".partial-") != std::string::npos;
}

std::string folder_name(const fs::path& dir) {
  fs::path p = dir;
  if (p.filename().empty()) p = p.parent_path();  // "a/b/" -> "b"
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") name = fs::absolute(p).lexically_normal().filename().string();
  return name.empty() ? "dicom" : name;
}

void expand_one(const std::string& input, std::vector<CaseInput>& out) {
  const fs::path path(input);
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ExitCode::BadInput, "cannot read '{}': no such file or folder", input);
  if (!fs::is_directory(path, ec)) {
    out.push_back({stem_without_extension(path), input});
    return;
  }
  if (is_dicom_directory(path)) {
    out.push_back({folder_name(path), input});
    return;
  }
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(path, ec)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  const size_t before = out.size();
  for (const auto& e : entries) {
    if (is_hidden_or_partial(e)) continue;
    if (fs::is_directory(e, ec)) {
      if (is_dicom_directory(e)) out.push_back({e.filename().string(), e.string()});
    } else if (is_volume_path(e)) {
      out.push_back({stem_without_extension(e), e.string()});
    }
  }
  if (out.size() == before)
    fail(ExitCode::BadInput,
         "cannot read '{}': the folder holds no volumes (.nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd) and no DICOM "
         "series",
         input);
}

}  // namespace

std::vector<CaseInput> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<CaseInput> out;
  for (const auto& input : inputs) {
    if (input == "-") {
      if (::isatty(STDIN_FILENO))
        fail(ExitCode::Usage, "'-' reads paths from stdin, but stdin is a terminal; pipe a list of paths in");
      std::string line;
      while (std::getline(std::cin, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        if (line.empty()) continue;
        expand_one(line, out);
      }
      continue;
    }
    expand_one(input, out);
  }
  return out;
}

}  // namespace voxseg::io
