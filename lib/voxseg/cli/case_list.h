#pragma once
#include <CLI/CLI.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "voxseg/io/case_list.h"

namespace voxseg::cli {

/// `--shard I/N`: this job's part of a batch, 1 <= I <= N (Slurm: --array=1-N, I = the task id).
/// count == 0: the whole list.
struct Shard {
  int index = 0;
  int count = 0;
  bool active() const { return count > 0; }
};

/// "I/N" -> Shard ("" -> inactive). Throws Error(Usage) for anything else, e.g. "0/4" (shards count from 1).
Shard parse_shard(const std::string& text);

/// The batch options of programs that take lists of cases (predict, eval, refine).
struct CaseListOptions {
  io::CaseNames names = io::CaseNames::Stem;  ///< --names stem|path
  std::string shard_text;                     ///< --shard I/N, validated while parsing
  Shard shard() const { return parse_shard(shard_text); }
};

/// Declares --shard I/N and, when `with_names`, --names stem|path (programs whose outputs are named
/// after cases; eval pairs by name and has no --names).
void add_case_list_options(CLI::App& app, CaseListOptions& options, bool with_names = true);

/// A batch's case list, before anything heavy (the model is not loaded yet): io::expand_inputs with
/// failures_as_cases (a missing path becomes a case that fails alone) and options.names; then
/// refuse_name_collisions over the whole list (not only this shard, so every shard refuses alike).
std::vector<io::CaseInput> list_cases(const std::vector<std::string>& inputs, const CaseListOptions& options);

/// Throws Error(Usage) (exit 2) listing every case name that more than one input maps to, with the
/// inputs: outputs are named after cases, so such inputs would overwrite or skip one another.
/// `names` is the naming in force, for the hint (stem: use --names path; path: rename).
void refuse_name_collisions(const std::vector<std::pair<std::string, std::string>>& name_and_input,
                            io::CaseNames names);

/// The deterministic split behind --shard (as nnU-Net's -part_id/-num_parts): the distinct case
/// names, sorted by byte value, the k-th (from 0) belongs to shard k mod N + 1. Every job that sees
/// the same list computes the same split without coordination; N jobs cover every case exactly once
/// and their sizes differ by at most one. Returns the names of `shard` (all names when inactive).
std::set<std::string> shard_names(std::vector<std::string> names, const Shard& shard);

inline const std::string& case_name(const std::pair<std::string, std::string>& named) { return named.first; }
template <typename T>
const std::string& case_name(const T& c) {
  return c.name;
}

/// Keeps, in each list, the cases of `shard` (in their order), the split computed over the names of
/// all lists together. Lists hold anything with a `.name` (io::CaseInput, infer::ChannelCase,
/// metrics::EvalCase) or (name, reason) pairs. Refine and predict call it on their case list, eval on
/// its pairs and its unmatched names.
template <typename... Lists>
void select_shard(const Shard& shard, Lists&... lists) {
  if (!shard.active()) return;
  std::vector<std::string> names;
  (..., [&](const auto& list) {
    for (const auto& c : list) names.push_back(case_name(c));
  }(lists));
  const std::set<std::string> keep = shard_names(std::move(names), shard);
  (..., [&](auto& list) {
    list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& c) { return !keep.count(case_name(c)); }),
               list.end());
  }(lists));
}

}  // namespace voxseg::cli
