// The one JSON form of a channel's normalization (bundles, training plans, reports).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "../shared_test_support.h"
#include "voxseg/core/json.h"
#include "voxseg/preprocess/normalize.h"

using voxseg::Json;
using namespace voxseg::preprocess;

namespace {
std::string error_of(const std::string& text) {
  return voxseg::test_support::error_message<std::invalid_argument>(
      [&] { normalization_from_json(Json::parse(text), "channels[0].normalization"); });
}
}  // namespace

TEST(NormalizationJson, WritesOnlyWhatTheSchemeUsesAndReadsItBack) {
  NormalizeOptions ct{Normalization::CT, false, false, 54.5, 27.25, -19.0, 194.0};
  EXPECT_EQ(normalization_to_json(ct).dump(),
            R"({"scheme": "ct", "mean": 54.5, "std": 27.25, "clip_low": -19.0, "clip_high": 194.0})");
  NormalizeOptions z;
  z.use_mask = true;
  EXPECT_EQ(normalization_to_json(z).dump(), R"({"scheme": "zscore", "use_nonzero_mask": true})");
  NormalizeOptions fixed{Normalization::ZScore, false, true, 10.0, 2.0, 0, 0};
  EXPECT_EQ(normalization_to_json(fixed).dump(), R"({"scheme": "zscore", "mean": 10.0, "std": 2.0})");
  for (const NormalizeOptions& o : {ct, z, fixed, NormalizeOptions{Normalization::RGBTo01},
                                    NormalizeOptions{Normalization::None}}) {
    const auto back = normalization_from_json(normalization_to_json(o), "n");
    EXPECT_EQ(back.scheme, o.scheme);
    EXPECT_EQ(back.use_mask, o.use_mask);
    EXPECT_EQ(back.fixed_stats, o.fixed_stats);
    EXPECT_EQ(normalization_to_json(back).dump(), normalization_to_json(o).dump());
  }
}

TEST(NormalizationJson, UnknownOrUnusedKeysAndBadValuesNameTheField) {
  const std::string p = "field 'channels[0].normalization.";
  EXPECT_EQ(error_of(R"({"scheme": "zscore", "use_nonzero_msk": true})"),
            p + "use_nonzero_msk': unknown field (misspelt?)");
  EXPECT_NE(error_of(R"({"scheme": "CTNormalization"})").find(p + "scheme': expected \"ct\""), std::string::npos);
  EXPECT_EQ(error_of(R"({"scheme": "ct", "mean": 1, "std": 2, "clip_low": 0})"),
            p + "clip_high': required for the \"ct\" scheme (dataset foreground statistics)");
  EXPECT_EQ(error_of(R"({"scheme": "none", "mean": 1, "std": 2})"), p + "mean': not used by the \"none\" scheme");
  EXPECT_EQ(error_of(R"({"scheme": "zscore", "clip_low": 1})"), p + "clip_low': not used by the \"zscore\" scheme");
  EXPECT_EQ(error_of(R"({"scheme": "zscore", "mean": 1})"), p + "std': mean and std must be given together");
  EXPECT_EQ(error_of(R"({"scheme": "ct", "mean": 1, "std": 2, "clip_low": 5, "clip_high": 1})"),
            p + "clip_high': must not be below clip_low");
  EXPECT_NE(error_of(R"({"scheme": "ct", "mean": 1, "std": 2, "clip_low": 0, "upper": 1})").find(p + "clip_low': mixes"),
            std::string::npos);
}

// Training plans written before the one form used "lower"/"upper" and recorded the dataset statistics
// for every scheme; they still load with the meaning they had (statistics used by "ct" only).
TEST(NormalizationJson, OldTrainingPlanSpellingKeepsItsMeaning) {
  const auto ct = normalization_from_json(
      Json::parse(R"({"scheme": "ct", "mean": 54.5, "std": 27.0, "lower": -19.0, "upper": 194.0})"), "n");
  EXPECT_EQ(ct.scheme, Normalization::CT);
  EXPECT_DOUBLE_EQ(ct.lower, -19.0);
  EXPECT_DOUBLE_EQ(ct.upper, 194.0);
  const auto z = normalization_from_json(
      Json::parse(R"({"scheme": "zscore", "mean": 236.3, "std": 37.4, "lower": 157.0, "upper": 335.0})"), "n");
  EXPECT_EQ(z.scheme, Normalization::ZScore);
  EXPECT_FALSE(z.fixed_stats);  // per-image z-score, as before
  EXPECT_EQ(normalization_to_json(z).dump(), R"({"scheme": "zscore"})");
}

TEST(NormalizationJson, ChannelNamesMapAsNnUNetDoes) {
  EXPECT_EQ(normalization_for_channel_name("ct"), Normalization::CT);
  EXPECT_EQ(normalization_for_channel_name("noNorm"), Normalization::None);
  EXPECT_EQ(normalization_for_channel_name("rescale_to_0_1"), Normalization::RescaleTo01);
  EXPECT_EQ(normalization_for_channel_name("T2"), Normalization::ZScore);
  IntensityProperties s;
  s.mean = 5, s.std = 2, s.percentile_00_5 = -1, s.percentile_99_5 = 9;
  const auto o = ct_normalization(s);
  EXPECT_EQ(o.scheme, Normalization::CT);
  EXPECT_DOUBLE_EQ(o.lower, -1);
  EXPECT_DOUBLE_EQ(o.upper, 9);
}

TEST(IntensityPropertiesJson, RoundTripsAndRejectsUnknownKeysOnlyWhenAsked) {
  IntensityProperties s{1.5, 2.0, 3.0, -4.0, 5.0, -3.5, 4.5};
  Json j = intensity_properties_to_json(s);
  EXPECT_EQ(j.dump(), R"({"mean": 1.5, "std": 2.0, "median": 3.0, "min": -4.0, "max": 5.0, )"
                      R"("percentile_00_5": -3.5, "percentile_99_5": 4.5})");
  EXPECT_DOUBLE_EQ(intensity_properties_from_json(j, "p").percentile_99_5, 4.5);
  j["extra"] = 1;
  EXPECT_THROW(intensity_properties_from_json(j, "p"), std::invalid_argument);
  EXPECT_DOUBLE_EQ(intensity_properties_from_json(j, "p", /*reject_unknown=*/false).mean, 1.5);
}
