// `voxseg train`'s action word, --fold and the reports of --check-only, plan and run.
#include "voxseg/train/command.h"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>

#include "../shared_test_support.h"
#include "voxseg/models/unet_config.h"

using voxseg::ExitCode;
using voxseg::test_support::capture_error;
using namespace voxseg::train;

TEST(TrainCommand, ActionWordIsOptionalAndOneDatasetIsRequired) {
  std::string dataset;
  EXPECT_EQ(parse_train_arguments({"plan", "data/ct"}, dataset), TrainAction::Plan);
  EXPECT_EQ(dataset, "data/ct");
  EXPECT_EQ(parse_train_arguments({"run", "cases.csv"}, dataset), TrainAction::Run);
  EXPECT_EQ(dataset, "cases.csv");
  EXPECT_EQ(parse_train_arguments({"data/mr"}, dataset), TrainAction::Run);
  EXPECT_EQ(dataset, "data/mr");
  for (const std::vector<std::string>& bad : {std::vector<std::string>{}, {"plan"}, {"plan", "a", "b"}, {"a", "b"}}) {
    const auto e = capture_error([&] { parse_train_arguments(bad, dataset); });
    EXPECT_EQ(e.code(), ExitCode::Usage);
    EXPECT_EQ(std::string(e.what()), "give one dataset (folder or CSV); see --help");
  }
}

TEST(TrainCommand, FoldIsANumberOrAll) {
  EXPECT_EQ(parse_fold("all"), -1);
  EXPECT_EQ(parse_fold("3"), 3);
  const auto e = capture_error([] { parse_fold("first"); });
  EXPECT_EQ(e.code(), ExitCode::Usage);
  EXPECT_EQ(std::string(e.what()), "--fold takes a fold number or 'all', not 'first'");
}

TEST(TrainCommand, CheckReportListsEveryProblemAndFailsWithBadInput) {
  Dataset ds;
  ds.cases = {{"a", {"a_0000.nii.gz"}, "a.nii.gz"}, {"b", {"b_0000.nii.gz"}, "b.nii.gz"}};
  DatasetScan scan;
  const TrainReport ok = check_report("data/ct", ds, scan);
  EXPECT_EQ(ok.code, ExitCode::Ok);
  EXPECT_EQ(ok.text, "data/ct: 2 cases, 0 problem(s)\n");
  EXPECT_EQ(ok.fields.dump(), R"({"dataset": "data/ct", "cases": 2, "problems": []})");
  scan.problems = {{"b", "label map has 3 slices, image 4"}};
  const TrainReport bad = check_report("data/ct", ds, scan);
  EXPECT_EQ(bad.code, ExitCode::BadInput);
  EXPECT_TRUE(bad.print);
  EXPECT_EQ(bad.text, "b: label map has 3 slices, image 4\ndata/ct: 2 cases, 1 problem(s)\n");
  EXPECT_EQ(
      bad.fields.dump(),
      R"({"dataset": "data/ct", "cases": 2, "problems": [{"case": "b", "problem": "label map has 3 slices, image 4"}]})");
}

TEST(TrainCommand, PlanReportNamesModelJsonAndThePlan) {
  PlannedRun run;
  run.plan.target_spacing_mm = {2.5, 0.8, 0.8};
  run.plan.patch_size = {40, 96, 96};
  run.plan.batch_size = 2;
  run.plan.estimated_memory_gb = 1.234;
  run.plan.network = voxseg::models::make_default_unet_config(3, 1, 3, 4);
  TrainOptions o;
  o.output = "runs/ct";
  const TrainReport r = plan_report(run, o);
  EXPECT_EQ(r.code, ExitCode::Ok);
  EXPECT_EQ(r.text,
            "plan: spacing 2.5x0.8x0.8 mm, patch 40x96x96, batch 2, 4 stages, ~1.23 GB "
            "(edit training.plan in runs/ct/model.json)");
  EXPECT_EQ(r.fields.find("model_json")->as_string(), "runs/ct/model.json");
  EXPECT_EQ(r.fields.find("plan")->dump(), plan_to_json(run.plan).dump());
}

TEST(TrainCommand, TrainingReportPerRankAndInterrupted) {
  TrainOptions o;
  o.output = "runs/ct";
  TrainResult done;
  done.epochs_done = 3;
  done.final_train_loss = 0.5;
  done.final_val_dice = {0.9, 0.75};
  done.parameters_sha256 = "abc";
  const TrainReport lead = training_report(done, o);
  EXPECT_EQ(lead.code, ExitCode::Ok);
  EXPECT_EQ(lead.text, "trained 3 epochs into runs/ct; final loss 0.5000; validation Dice per label: 0.900 0.750");
  std::vector<std::string> keys;
  for (const auto& [key, value] : lead.fields.as_object()) keys.push_back(key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"rank", "world_size", "parameters_sha256", "runtime", "bundle", "training"}));

  done.final_val_dice.clear();
  EXPECT_NE(training_report(done, o).text.find("validation Dice per label: (no validation)"), std::string::npos);

  done.rank = 1, done.world_size = 2;
  const TrainReport other = training_report(done, o);
  EXPECT_EQ(other.text, "rank 1 of 2: trained 3 epochs; rank 0 wrote the bundle");
  EXPECT_EQ(other.fields.find("bundle"), nullptr);

  TrainResult stopped;
  stopped.interrupted = true;
  stopped.signal = SIGTERM;
  const TrainReport s = training_report(stopped, o);
  EXPECT_FALSE(s.print);
  EXPECT_EQ(int(s.code), 128 + SIGTERM);
}

TEST(TrainCommand, PlanAndRunNeedAnOutputFolder) {
  TrainOptions o;
  o.dataset = "does/not/matter";
  for (const auto& e : {capture_error([&] { plan_run(o); }), capture_error([&] { train_run(o); })}) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
    EXPECT_EQ(std::string(e.what()), "give the output folder with -o");
  }
}
