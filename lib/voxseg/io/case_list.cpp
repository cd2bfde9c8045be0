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
    out.push_back({stem_without_extension(path), input, ""});
    return;
  }
  if (is_dicom_directory(path)) {
    out.push_back({folder_name(path), input, ""});
    return;
  }
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(path, ec)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  const size_t before = out.size();
  for (const auto& e : entries) {
    if (is_hidden_or_partial(e)) continue;
    if (fs::is_directory(e, ec)) {
      if (is_dicom_directory(e)) out.push_back({e.filename().string(), e.string(), ""});
    } else if (is_volume_path(e)) {
      out.push_back({stem_without_extension(e), e.string(), ""});
    }
  }
  if (out.size() == before)
    fail(ExitCode::BadInput,
         "cannot read '{}': the folder holds no volumes (.nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd) and no DICOM "
         "series",
         input);
}

// expand_one, or (failures_as_cases) one failed case named after the path.
void expand_or_record(const std::string& input, const ExpandOptions& options, std::vector<CaseInput>& out) {
  if (!options.failures_as_cases) return expand_one(input, out);
  const size_t before = out.size();
  try {
    expand_one(input, out);
  } catch (const Error& e) {
    if (e.code() != ExitCode::BadInput) throw;
    out.resize(before);
    const fs::path path(input);
    const bool folder = path.filename().empty() || fs::is_directory(path);
    out.push_back({folder ? folder_name(path) : stem_without_extension(path), input, e.what()});
  }
}

fs::path normal_absolute(const fs::path& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  if (ec) a = p;
  a = a.lexically_normal();
  if (a.filename().empty()) a = a.parent_path();  // "dir/" -> "dir"
  return a;
}

// --names path: every case's folder/name relative to the deepest folder holding all of them.
void name_by_path(std::vector<CaseInput>& cases) {
  if (cases.empty()) return;
  std::vector<fs::path> keys;
  for (const auto& c : cases) keys.push_back(normal_absolute(c.path).parent_path() / c.name);
  fs::path common = keys.front().parent_path();
  for (const auto& k : keys) {
    const fs::path dir = k.parent_path();
    fs::path shared;
    for (auto a = common.begin(), b = dir.begin(); a != common.end() && b != dir.end() && *a == *b; ++a, ++b)
      shared /= *a;
    common = shared;
  }
  for (size_t i = 0; i < cases.size(); ++i) cases[i].name = keys[i].lexically_relative(common).generic_string();
}

}  // namespace

std::vector<CaseInput> expand_inputs(const std::vector<std::string>& inputs, const ExpandOptions& options) {
  std::vector<CaseInput> out;
  for (const auto& input : inputs) {
    if (input == "-") {
      if (::isatty(STDIN_FILENO))
        fail(ExitCode::Usage, "'-' reads paths from stdin, but stdin is a terminal; pipe a list of paths in");
      std::string line;
      while (std::getline(std::cin, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        if (line.empty()) continue;
        expand_or_record(line, options, out);
      }
      continue;
    }
    expand_or_record(input, options, out);
  }
  if (options.names == CaseNames::Path) name_by_path(out);
  return out;
}

}  // namespace voxseg::io
