#pragma once
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/metrics/evaluation.h"
#include "voxseg/metrics/report_plots.h"

namespace voxseg::metrics {

/// Statistics of one metric of one region over cases (nulls counted, not used).
struct Stats {
  int64_t n = 0, n_null = 0;
  std::optional<double> mean, std, median, q1, q3, min, max;  ///< std: sample (n - 1); quartiles linear
};
Stats compute_stats(std::vector<double> values, int64_t n_null);

/// Summary over cases: per region name and metric, plus counts of flags. Instance mode: per
/// instance metric. Regions in first-seen order.
Json summarize(const std::vector<CaseResult>& results, bool surface_metrics);

/// Human table of the summary (one block per region), for stdout; led by the convention when
/// `conventions` (describe_conventions) is given.
std::string summary_table(const Json& summary, const Json& conventions = Json());

/// "MONAI (surface voxels, HD95 max-of-directed), NSD tolerance 1 mm".
std::string convention_line(const Json& conventions);

/// One row per case x region (or per case in instance mode), header first; nulls are empty fields.
/// The last column names the convention ("voxels/max-of-directed"; "instances" in instance mode).
std::string results_csv(const std::vector<CaseResult>& results, const Json& conventions = Json());

/// Everything: provenance, conventions, per case, summary, failures.
Json results_json(const std::vector<CaseResult>& results, const Json& summary, const Json& conventions,
                  const Json& provenance, const Json& failures);

/// Where results go (empty: not written). The report is DIR/index.html.
struct OutputPaths {
  std::string csv, json, report_dir;
  std::string lesion_csv;  ///< one row per lesion (--lesion-csv)
};
/// Fails with Error(CannotWrite) before any work when an output exists (without force) or its folder
/// is missing; creates the report folder.
void check_outputs(const OutputPaths& paths, bool force);
/// Writes every requested output atomically (complete or absent). Throws Error(CannotWrite).
void write_outputs(const OutputPaths& paths, const std::vector<CaseResult>& results, const Json& summary,
                   const Json& conventions, const Json& provenance, const Json& failures, bool force);

/// Self-contained HTML (inline CSS, SVG plots, PNG data URIs, no external URLs); report_html.cpp.
/// One case: a bar chart per metric over labels; several: box plots. QC pictures (CaseResult::qc)
/// under a legend of the contour and label colours, each case's window recorded as
/// data-window-level/-width attributes and a caption.
std::string html_report(const std::vector<CaseResult>& results, const Json& summary, const Json& conventions,
                        const Json& provenance, const Json& failures);

}  // namespace voxseg::metrics
