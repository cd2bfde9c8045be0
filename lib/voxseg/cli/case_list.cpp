#include "voxseg/cli/case_list.h"

#include <algorithm>
#include <map>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"

namespace voxseg::cli {

Shard parse_shard(const std::string& text) {
  if (text.empty()) return {};
  const size_t slash = text.find('/');
  auto number = [](const std::string& s) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(s);
  };
  const int i = slash == std::string::npos ? -1 : number(text.substr(0, slash));
  const int n = slash == std::string::npos ? -1 : number(text.substr(slash + 1));
  if (i < 0 || n < 1)
    fail(ExitCode::Usage, "--shard '{}': expected I/N with 1 <= I <= N, e.g. 2/8 (the second of 8 jobs)", text);
  if (i < 1 || i > n)
    fail(ExitCode::Usage,
         "--shard '{}': I must be 1..{} (shards count from 1; with sbatch --array=0-{} use "
         "$((SLURM_ARRAY_TASK_ID + 1))/{})",
         text, n, n - 1, n);
  return {i, n};
}

void add_case_list_options(CLI::App& app, CaseListOptions& options, bool with_names) {
  app.add_option("--shard", options.shard_text,
                 "I/N: only this job's part of the cases (1 <= I <= N; names sorted, every N-th from the I-th), "
                 "so N independent jobs cover the list once")
      ->check(CLI::Validator(
          [](std::string& text) {
            try {
              parse_shard(text);
              return std::string();
            } catch (const Error& e) {
              return std::string(e.what());
            }
          },
          "I/N"));
  if (!with_names) return;
  auto set_names = [&options](const std::string& v) {
    options.names = v == "path" ? io::CaseNames::Path : io::CaseNames::Stem;
  };
  app.add_option_function<std::string>(
         "--names", set_names,
         "stem: outputs named by file name (ct.nii.gz -> ct); path: by path below the inputs' common folder "
         "(p1/ct.nii.gz -> p1/ct), for exported studies that reuse file names")
      ->check(CLI::IsMember({"stem", "path"}))
      ->default_str("stem");
}

std::vector<io::CaseInput> list_cases(const std::vector<std::string>& inputs, const CaseListOptions& options) {
  io::ExpandOptions expand;
  expand.failures_as_cases = true;
  expand.names = options.names;
  auto cases = io::expand_inputs(inputs, expand);
  std::vector<std::pair<std::string, std::string>> named;
  for (const auto& c : cases) named.emplace_back(c.name, c.path);
  refuse_name_collisions(named, options.names);
  return cases;
}

void refuse_name_collisions(const std::vector<std::pair<std::string, std::string>>& name_and_input,
                            io::CaseNames names) {
  std::map<std::string, std::vector<std::string>> inputs_of;
  for (const auto& [name, input] : name_and_input) inputs_of[name].push_back(input);
  std::vector<std::string> clashes;
  for (const auto& [name, inputs] : inputs_of) {
    if (inputs.size() < 2) continue;
    std::string list;
    for (const auto& in : inputs) list += (list.empty() ? "" : ", ") + in;
    clashes.push_back(fmt::format("'{}' ({})", name, list));
  }
  if (clashes.empty()) return;
  constexpr size_t kShown = 5;
  std::string shown;
  for (size_t i = 0; i < std::min(clashes.size(), kShown); ++i) shown += (i ? "; " : "") + clashes[i];
  if (clashes.size() > kShown) shown += fmt::format("; and {} more", clashes.size() - kShown);
  fail(ExitCode::Usage, "{} case name(s) given by more than one input, whose outputs would collide: {}; {}",
       clashes.size(), shown,
       names == io::CaseNames::Stem
           ? "use --names path to name cases by their path below the inputs' common folder (p1/ct), or rename them"
           : "rename or remove the duplicates (the same file listed twice, or one name with two extensions)");
}

std::set<std::string> shard_names(std::vector<std::string> names, const Shard& shard) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (!shard.active()) return {names.begin(), names.end()};
  std::set<std::string> out;
  for (size_t k = size_t(shard.index - 1); k < names.size(); k += size_t(shard.count)) out.insert(names[k]);
  log::info("shard {}/{}: {} of {} case(s)", shard.index, shard.count, out.size(), names.size());
  return out;
}

}  // namespace voxseg::cli
