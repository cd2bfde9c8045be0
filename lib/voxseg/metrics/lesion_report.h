#pragma once
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/metrics/evaluation.h"

namespace voxseg::metrics {

/// True when any case carries lesion-wise scores.
bool has_lesions(const std::vector<CaseResult>& results);

/// Per lesion label over cases: stats of lesion_dice, lesion_hd95, fp/fn volume, and pooled
/// detection totals (tp, fp, fn, sensitivity, precision, f1).
Json summarize_lesions(const std::vector<CaseResult>& results);

/// Human lines of summarize_lesions() for stdout.
std::string lesion_summary_table(const Json& lesion_summary);

/// One row per lesion: case,label,side,id,volume_ml,matched,partners,partner_ml,dice,hd95,x,y,z.
std::string lesions_csv(const std::vector<CaseResult>& results);

/// The report's lesion section: per case x label table and an SVG scatter of reference vs
/// predicted lesion volume (missed lesions on the x axis, false positives on the y axis).
std::string lesion_report_html(const std::vector<CaseResult>& results);

}  // namespace voxseg::metrics
