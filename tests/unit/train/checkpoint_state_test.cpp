#include "voxseg/train/detail/checkpoint_state.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using voxseg::Json;
using namespace voxseg::train::detail;

TEST(CheckpointMeta, JsonKeepsItsKeyOrderAndRoundTrips) {
  CheckpointMeta m;
  m.epoch = 3, m.iteration = 7, m.loss_sum = 1.5, m.partial_seconds = 2.0;
  m.best_ema = 0.25, m.best_epoch = 2, m.seed = 42, m.iterations_per_epoch = 10, m.fold = -1, m.world_size = 2;
  m.rows = {Json::parse(R"({"epoch": 1})")};
  const Json j = checkpoint_meta_to_json(m);
  EXPECT_EQ(j.dump(),
            R"({"epoch": 3, "iteration": 7, "loss_sum": 1.5, "partial_seconds": 2.0, "partial_wait_seconds": 0.0, )"
            R"("partial_step_seconds": 0.0, "partial_comm_seconds": 0.0, "ema": null, "best_ema": 0.25, )"
            R"("best_epoch": 2, "seed": 42, "iterations_per_epoch": 10, "fold": -1, "world_size": 2, )"
            R"("rows": [{"epoch": 1}]})");
  const CheckpointMeta back = checkpoint_meta_from_json(Json::parse(j.dump()));
  EXPECT_EQ(checkpoint_meta_to_json(back).dump(), j.dump());
  EXPECT_TRUE(std::isnan(back.ema));
}

TEST(CheckpointMeta, OlderCheckpointsWithoutTimingsOrWorldSizeStillLoad) {
  const auto m = checkpoint_meta_from_json(Json::parse(
      R"({"epoch": 1, "iteration": 0, "loss_sum": 0.0, "partial_seconds": 0.0, "ema": 0.5, "best_ema": 0.5,
          "best_epoch": 1, "seed": 7, "iterations_per_epoch": 4, "fold": 0, "rows": []})"));
  EXPECT_EQ(m.world_size, 1);
  EXPECT_DOUBLE_EQ(m.ema, 0.5);
  EXPECT_DOUBLE_EQ(m.partial_wait_seconds, 0.0);
  try {
    checkpoint_meta_from_json(Json::parse(R"({"epoch": 1})"));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "field 'iteration': required but missing");
  }
}
