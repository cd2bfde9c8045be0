#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "voxseg/core/json.h"

namespace voxseg::pacs {

/// Where a series version is in the pipeline (journal events in docs/pacs.md).
enum class Stage { Receiving, Complete, Segmented, Sent, Failed };
const char* stage_name(Stage stage);

/// One version of a series: the instances received until it went quiet. The same series sent again
/// after that is a new version and gets its own SEG.
struct SeriesVersion {
  std::string key;  ///< "<series uid>.v<N>": folder name under series/
  std::string series_uid, study_uid;
  int version = 1;
  Stage stage = Stage::Receiving;
  size_t instances = 0;
  double first_received = 0, last_received = 0;  ///< seconds since the epoch
  int segment_attempts = 0, send_attempts = 0;
  double next_send = 0;  ///< earliest time of the next send attempt
  std::string seg_file;  ///< relative to the version folder, once segmented
  std::string step;      ///< while Complete: the last intermediate step done ("predicted", "refined") or ""
  std::string last_error;
  bool has_seg_objects = false;  ///< some instance is a DICOM SEG (not an image to segment)
};

/// The spool folder: instances, outputs and an append-only journal (one JSON object per line,
/// fsync'ed) from which the state is rebuilt after a restart or a crash.
///   journal.jsonl, series/<key>/instances/<SOP UID>.dcm, series/<key>/out/, failed/<key>/reason.txt,
///   quarantine/<name>.dcm + <name>.reason.txt, lock
/// Thread-safe: every method locks.
class Spool {
 public:
  /// Opens (creating) the spool. lock=true takes an exclusive lock for a listener: a second listener on
  /// the same spool fails with Error(CannotWrite). Replays the journal; a torn last line is ignored.
  Spool(std::filesystem::path dir, bool lock);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path folder(const std::string& key) const;
  /// The version an arriving instance of this series joins (a new one when the last is no longer receiving).
  /// The version cannot complete until add_instance() or release() is called for this instance.
  std::string version_for(const std::string& series_uid, const std::string& study_uid, double now);
  /// Records an instance already written durably under folder(key)/instances.
  void add_instance(const std::string& key, const std::string& sop_uid, double now, bool is_seg = false);
  /// The instance announced by version_for() was not stored.
  void release(const std::string& key);
  /// Receiving versions quiet for `quiet_s` become Complete; returns their keys.
  std::vector<std::string> complete_quiet(double now, double quiet_s);
  /// Records an intermediate step of a segmentation with a refine step: "predicted" or "refined".
  void set_step(const std::string& key, const std::string& step);
  void set_segmented(const std::string& key, const std::string& seg_file);
  void segment_error(const std::string& key, const std::string& error);
  void set_sent(const std::string& key, const std::string& peer);
  void send_error(const std::string& key, const std::string& error, double next_send);
  /// Moves the version's folder to failed/<key>/ with reason.txt.
  void set_failed(const std::string& key, const std::string& reason);
  /// Logs a quarantined or refused instance (the file is already under quarantine/).
  void quarantined(const std::string& name, const std::string& reason);

  std::vector<SeriesVersion> snapshot() const;
  SeriesVersion get(const std::string& key) const;
  size_t quarantine_count() const;

 private:
  void append(const std::string& line);
  void record(const std::string& key, const char* event, Json fields);
  void apply(const std::string& line, bool replaying);
  std::filesystem::path dir_;
  mutable std::mutex mutex_;
  int journal_fd_ = -1, lock_fd_ = -1;
  std::map<std::string, SeriesVersion> versions_;
  std::map<std::string, std::string> latest_;
  std::map<std::string, int> in_flight_;  ///< instances being written, per version  ///< series uid -> key of its latest version
  size_t quarantined_ = 0;
  std::string last_quarantine_reason_;
};

double now_seconds();

}  // namespace voxseg::pacs
