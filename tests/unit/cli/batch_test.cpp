// Batch: failed cases are reported and listed with their messages, the rest run on.
#include "voxseg/cli/batch.h"

#include <gtest/gtest.h>

#include <stdexcept>

using voxseg::ExitCode;
using voxseg::cli::Batch;
using voxseg::cli::Case;
using voxseg::cli::CommonOptions;
using voxseg::cli::Context;

namespace {
Context quiet_context() {
  CommonOptions common;
  common.quiet = true;
  return Context("test", common);
}
}  // namespace

TEST(Batch, FailuresAreListedWithTheirMessagesInOrder) {
  const Context ctx = quiet_context();
  Batch batch{ctx, 4};
  batch.run("a", "a.nii.gz", [](Case& c) { c.report("value", 1); });
  batch.run("b", "b.nii.gz", [](Case&) { voxseg::fail(ExitCode::BadInput, "cannot read 'b.nii.gz': truncated"); });
  batch.run(
      "c", "", [](Case&) { ADD_FAILURE() << "a case with a listing error must not run"; },
      "prediction 'c.nii.gz' has no reference in 'ref'");
  batch.run("d", "d.nii.gz", [](Case&) { throw std::runtime_error("bad_alloc\nbacktrace"); });
  EXPECT_EQ(batch.done(), 1);
  EXPECT_EQ(batch.failed(), 3);
  EXPECT_EQ(batch.failures_json().dump(),
            R"([{"case": "b", "error": "cannot read 'b.nii.gz': truncated"}, )"
            R"({"case": "c", "error": "prediction 'c.nii.gz' has no reference in 'ref'"}, )"
            R"({"case": "d", "error": "bad_alloc"}])");
  EXPECT_EQ(batch.finish(), ExitCode::PartialBatch);
}

TEST(Batch, NoFailuresIsAnEmptyListAndOk) {
  const Context ctx = quiet_context();
  Batch batch{ctx};
  batch.run("a", "a.nii.gz", [](Case&) {});
  EXPECT_EQ(batch.failures_json().dump(), "[]");
  EXPECT_EQ(batch.finish(), ExitCode::Ok);
}

TEST(Batch, ASingleFailedCaseKeepsItsExitCode) {
  const Context ctx = quiet_context();
  Batch batch{ctx};
  batch.run("a", "a.nii.gz", [](Case&) { voxseg::fail(ExitCode::BadModel, "model"); });
  EXPECT_EQ(batch.finish(), ExitCode::BadModel);
}
