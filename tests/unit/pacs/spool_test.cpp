#include "voxseg/pacs/spool.h"

#include <gtest/gtest.h>

#include <fstream>

#include "../shared_test_support.h"
#include "voxseg/pacs/listener.h"

using namespace voxseg;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) { return test_support::fresh_dir(fs::temp_directory_path(), "pacs-" + name); }
}  // namespace

TEST(Spool, ReplaysTheJournalAfterARestart) {
  const fs::path dir = scratch("replay");
  std::string a, b;
  {
    pacs::Spool s(dir, true);
    a = s.version_for("1.2.3", "1.2", 100);
    s.add_instance(a, "1.2.3.1", 100);
    s.add_instance(a, "1.2.3.2", 101);
    b = s.version_for("1.2.4", "1.2", 105);
    s.add_instance(b, "1.2.4.1", 105);
    EXPECT_EQ(s.complete_quiet(105, 10).size(), 0u);
    EXPECT_EQ(s.complete_quiet(111.5, 10), std::vector<std::string>{a});
    s.set_segmented(a, "out/labels.seg.dcm");
    s.send_error(a, "connection refused", 200);
  }
  pacs::Spool s(dir, true);  // "restart"
  const pacs::SeriesVersion va = s.get(a), vb = s.get(b);
  EXPECT_EQ(va.stage, pacs::Stage::Segmented);
  EXPECT_EQ(va.instances, 2u);
  EXPECT_EQ(va.seg_file, "out/labels.seg.dcm");
  EXPECT_EQ(va.send_attempts, 1);
  EXPECT_DOUBLE_EQ(va.next_send, 200);
  EXPECT_EQ(va.last_error, "connection refused");
  EXPECT_EQ(vb.stage, pacs::Stage::Receiving);
  s.set_sent(a, "PACS@h:1");
  EXPECT_EQ(s.get(a).stage, pacs::Stage::Sent);
}

TEST(Spool, TheSameSeriesAfterCompletionIsANewVersion) {
  pacs::Spool s(scratch("versions"), true);
  const std::string v1 = s.version_for("1.2.3", "1.2", 0);
  s.add_instance(v1, "1.2.3.1", 0);
  EXPECT_EQ(s.version_for("1.2.3", "1.2", 1), v1);  // still receiving: joins
  EXPECT_TRUE(s.complete_quiet(100, 10).empty());    // ... and cannot complete while that instance is written
  s.release(v1);                                     // (it was not stored after all)
  EXPECT_EQ(s.complete_quiet(100, 10), std::vector<std::string>{v1});
  const std::string v2 = s.version_for("1.2.3", "1.2", 101);
  EXPECT_NE(v2, v1);
  EXPECT_EQ(v2, "1.2.3.v2");
}

TEST(Spool, IgnoresATornLastLineAndKeepsAppending) {
  const fs::path dir = scratch("torn");
  std::string a;
  {
    pacs::Spool s(dir, true);
    a = s.version_for("1.2.3", "1.2", 0);
    s.add_instance(a, "1.2.3.1", 0);
  }
  std::ofstream(dir / "journal.jsonl", std::ios::app) << "{\"event\": \"compl";  // crash mid-write
  {
    pacs::Spool s(dir, true);
    EXPECT_EQ(s.get(a).stage, pacs::Stage::Receiving);
    s.complete_quiet(100, 1);
  }
  pacs::Spool s(dir, false);
  EXPECT_EQ(s.get(a).stage, pacs::Stage::Complete);
}

TEST(Spool, ANewSpoolIsReadableByItsOwnerOnly) {
  const fs::path dir = scratch("perms") / "spool";
  pacs::Spool s(dir, true);
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST(Spool, ASecondListenerCannotTakeTheSameSpool) {
  const fs::path dir = scratch("lock");
  pacs::Spool first(dir, true);
  EXPECT_EQ(test_support::capture_error([&] { pacs::Spool second(dir, true); }).code(), ExitCode::CannotWrite);
}

TEST(Spool, FailedVersionsMoveToFailedWithTheReason) {
  const fs::path dir = scratch("failed");
  pacs::Spool s(dir, true);
  const std::string a = s.version_for("1.2.3", "1.2", 0);
  fs::create_directories(s.folder(a) / "instances");
  s.add_instance(a, "1.2.3.1", 0);
  s.set_failed(a, "segmentation exited with 3: inconsistent geometry");
  EXPECT_FALSE(fs::exists(dir / "series" / a));
  std::ifstream in(dir / "failed" / a / "reason.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "segmentation exited with 3: inconsistent geometry");
  const Json status = pacs::spool_status(dir);
  EXPECT_EQ(status.find("failed")->as_int(), 1);
  EXPECT_EQ(status.find("last_error")->as_string(), "segmentation exited with 3: inconsistent geometry");
}

TEST(Spool, ReplaysTheStepsOfASegmentationWithRefine) {
  const fs::path dir = scratch("steps");
  std::string a;
  {
    pacs::Spool s(dir, true);
    a = s.version_for("1.2.3", "1.2", 0);
    s.add_instance(a, "1.2.3.1", 0);
    s.complete_quiet(100, 10);
    EXPECT_EQ(s.get(a).step, "");
    s.set_step(a, "predicted");
    s.segment_error(a, "refinement killed by signal 9");
  }
  {
    pacs::Spool s(dir, true);  // a restart between the predict and the refine step
    const pacs::SeriesVersion v = s.get(a);
    EXPECT_EQ(v.stage, pacs::Stage::Complete);
    EXPECT_EQ(v.step, "predicted");
    EXPECT_EQ(v.segment_attempts, 1);
    s.set_step(a, "refined");
    EXPECT_EQ(s.get(a).step, "refined");
    EXPECT_EQ(test_support::capture_error([&] { s.set_step(a, "segmented"); }).code(), ExitCode::Internal);
    s.set_segmented(a, "out/refined.seg.dcm");
  }
  pacs::Spool s(dir, false);
  EXPECT_EQ(s.get(a).stage, pacs::Stage::Segmented);
  EXPECT_EQ(s.get(a).seg_file, "out/refined.seg.dcm");
}
