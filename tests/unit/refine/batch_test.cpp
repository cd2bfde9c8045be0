// Batch mode of refine: when a command line is a batch, and how each case finds its label map,
// prompts file and logits path (the documented matching rule: DIR/<case><volume ext>).
#include "voxseg/refine/batch.h"

#include <gtest/gtest.h>

#include <fstream>

#include "../shared_test_support.h"

namespace fs = std::filesystem;
using namespace voxseg;
using voxseg::test_support::capture_error;

namespace {
void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}
}  // namespace

TEST(RefineBatch, IsABatchForSeveralInputsFoldersStdinOrAFolderOutput) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "refine-is-batch");
  touch(dir / "cases" / "a.nii.gz");
  fs::create_directories(dir / "out");
  const std::string file = (dir / "cases" / "a.nii.gz").string();
  EXPECT_FALSE(refine::is_batch({file}, dir / "r.nii.gz"));  // one input, one output file: as before
  EXPECT_FALSE(refine::is_batch({"photo.png"}, "mask.png"));
  EXPECT_FALSE(refine::is_batch({file}, dir / "r.xyz"));  // an unknown extension stays refine's usage error
  EXPECT_TRUE(refine::is_batch({file, file}, dir / "r.nii.gz"));
  EXPECT_TRUE(refine::is_batch({"-"}, dir / "r.nii.gz"));
  EXPECT_TRUE(refine::is_batch({(dir / "cases").string()}, dir / "r.nii.gz"));
  EXPECT_TRUE(refine::is_batch({file}, dir / "out"));      // an existing folder
  EXPECT_TRUE(refine::is_batch({file}, dir / "refined"));  // a name without an extension
  EXPECT_TRUE(refine::is_batch({file}, dir / "refined/"));
}

TEST(RefineBatch, FindsTheCasesLabelMapByNameWithAnyVolumeExtension) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "refine-find-case");
  touch(dir / "ct_1.nii.gz");
  touch(dir / "ct_2.nrrd");
  touch(dir / "ct_3.nii.gz");
  touch(dir / "ct_3.mha");
  touch(dir / "ct_4.json");
  EXPECT_EQ(refine::find_case_volume(dir, "ct_1", "--labels"), dir / "ct_1.nii.gz");
  EXPECT_EQ(refine::find_case_volume(dir, "ct_2", "--labels"), dir / "ct_2.nrrd");
  EXPECT_EQ(capture_error([&] { refine::find_case_volume(dir, "ct_3", "--labels"); }).code(), ExitCode::BadInput);
  const Error none = capture_error([&] { refine::find_case_volume(dir, "ct_4", "--labels"); });
  EXPECT_EQ(none.code(), ExitCode::BadInput);
  EXPECT_NE(std::string(none.what()).find("ct_4"), std::string::npos);
  EXPECT_EQ(capture_error([&] { refine::find_case_volume(dir, "ct", "--labels"); }).code(), ExitCode::BadInput);
}

TEST(RefineBatch, CaseOptionsPointAtTheCasesFiles) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "refine-case-options");
  touch(dir / "labels" / "p1" / "ct.nii.gz");
  touch(dir / "prompts" / "p1" / "ct.json");
  refine::CaseOptions given;
  given.prompts.labels = (dir / "labels").string();
  given.logits = dir / "logits";
  refine::CaseOptions o = refine::case_options(given, "p1/ct", dir / "out" / "p1" / "ct.nrrd");  // --names path
  EXPECT_EQ(o.prompts.labels, (dir / "labels" / "p1" / "ct.nii.gz").string());
  EXPECT_EQ(o.logits, dir / "logits" / "p1" / "ct.nrrd");
  EXPECT_TRUE(fs::is_directory(dir / "logits" / "p1"));
  EXPECT_TRUE(o.redo);  // the output is missing: leftover logits are overwritten
  EXPECT_EQ(capture_error([&] { refine::case_options(given, "p2/ct", dir / "out" / "ct.nii.gz"); }).code(),
            ExitCode::BadInput);

  refine::CaseOptions by_prompts;
  by_prompts.prompts.prompts_json = (dir / "prompts").string();
  EXPECT_EQ(refine::case_options(by_prompts, "p1/ct", dir / "o.nii.gz").prompts.prompts_json,
            (dir / "prompts" / "p1" / "ct.json").string());
  EXPECT_EQ(capture_error([&] { refine::case_options(by_prompts, "p9", dir / "o.nii.gz"); }).code(),
            ExitCode::BadInput);
  by_prompts.prompts.prompts_json = (dir / "prompts" / "p1" / "ct.json").string();  // a file: every case
  EXPECT_EQ(refine::case_options(by_prompts, "p9", dir / "o.nii.gz").prompts.prompts_json,
            by_prompts.prompts.prompts_json);
}

TEST(RefineBatch, BatchOptionsWantFoldersWherePerCaseFilesAreMeant) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "refine-batch-options");
  touch(dir / "labels" / "a.nii.gz");
  refine::CaseOptions o;
  o.prompts.labels = (dir / "labels" / "a.nii.gz").string();
  EXPECT_EQ(capture_error([&] { refine::check_batch_options(o); }).code(), ExitCode::Usage);
  o.prompts.labels = (dir / "missing").string();
  EXPECT_EQ(capture_error([&] { refine::check_batch_options(o); }).code(), ExitCode::BadInput);
  o.prompts.labels = (dir / "labels").string();
  EXPECT_NO_THROW(refine::check_batch_options(o));
  o.logits = dir / "logits.nii.gz";
  EXPECT_EQ(capture_error([&] { refine::check_batch_options(o); }).code(), ExitCode::Usage);
  o.logits = dir / "logits";
  EXPECT_NO_THROW(refine::check_batch_options(o));
  EXPECT_TRUE(fs::is_directory(dir / "logits"));
  o.prompts.boxes = {"1,2,3,4"};  // two prompt sources
  EXPECT_EQ(capture_error([&] { refine::check_batch_options(o); }).code(), ExitCode::Usage);
}
