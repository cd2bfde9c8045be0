#include "voxseg/pacs/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "voxseg/core/error.h"
#include "voxseg/core/json.h"
#include "voxseg/core/log.h"
#include "voxseg/pacs/peer.h"

namespace fs = std::filesystem;

namespace voxseg::pacs {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::Receiving: return "receiving";
    case Stage::Complete: return "complete";
    case Stage::Segmented: return "segmented";
    case Stage::Sent: return "sent";
    case Stage::Failed: return "failed";
  }
  return "?";
}

namespace {

void make_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot create spool folder '{}': {}", p.string(), ec.message());
}

std::string str(const Json& j, const char* key) {
  const Json* v = j.find(key);
  return v && v->is_string() ? v->as_string() : std::string();
}
double num(const Json& j, const char* key) {
  const Json* v = j.find(key);
  return v && v->is_number() ? v->as_double() : 0.0;
}

// Keeps the journal parseable after a crash mid-write: drop a torn (unterminated) last line.
void trim_torn_tail(const fs::path& journal) {
  std::error_code ec;
  const auto size = fs::file_size(journal, ec);
  if (ec || size == 0) return;
  std::ifstream in(journal, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.back() == '\n') return;
  const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  log::warn("journal '{}': dropping a torn last line ({} bytes)", journal.string(), text.size() - keep);
  fs::resize_file(journal, keep, ec);
}

}  // namespace

Spool::Spool(fs::path dir, bool lock) : dir_(std::move(dir)) {
  std::error_code ec;
  const bool created = !fs::exists(dir_, ec);
  for (const char* sub : {"series", "failed", "quarantine"}) make_dir(dir_ / sub);
  if (created && lock) fs::permissions(dir_, fs::perms::owner_all, ec);  // patient data: owner only
  if (lock) {
    lock_fd_ = ::open((dir_ / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
      fail(ExitCode::CannotWrite, "spool '{}' is in use by another listener (lock file '{}')", dir_.string(),
           (dir_ / "lock").string());
  }
  const fs::path journal = dir_ / "journal.jsonl";
  if (lock) trim_torn_tail(journal);
  std::ifstream in(journal);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      apply(line, true);
    } catch (const std::exception& e) {
      log::warn("journal '{}': ignoring a bad line: {}", journal.string(), e.what());
    }
  }
  if (lock) {
    journal_fd_ = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (journal_fd_ < 0) fail(ExitCode::CannotWrite, "cannot open journal '{}'", journal.string());
  }
}

Spool::~Spool() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

fs::path Spool::folder(const std::string& key) const { return dir_ / "series" / key; }

void Spool::append(const std::string& line) {
  if (journal_fd_ < 0) fail(ExitCode::Internal, "spool '{}' was opened read-only", dir_.string());
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(journal_fd_, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(ExitCode::CannotWrite, "cannot append to the journal in '{}'", dir_.string());
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(journal_fd_) != 0) fail(ExitCode::CannotWrite, "cannot fsync the journal in '{}'", dir_.string());
}

void Spool::apply(const std::string& line, bool /*replaying*/) {
  const Json j = Json::parse(line);
  const std::string event = str(j, "event"), key = str(j, "key");
  const double t = num(j, "t");
  if (event == "quarantined") {
    ++quarantined_;
    last_quarantine_reason_ = str(j, "reason");
    return;
  }
  auto it = versions_.find(key);
  if (event == "received") {
    if (it == versions_.end()) {
      SeriesVersion v;
      v.key = key;
      v.series_uid = str(j, "series");
      v.study_uid = str(j, "study");
      v.version = static_cast<int>(num(j, "version"));
      v.first_received = t;
      it = versions_.emplace(key, v).first;
      latest_[v.series_uid] = key;
    }
    it->second.instances += 1;
    it->second.last_received = t;
    if (const Json* seg = j.find("seg_object")) it->second.has_seg_objects |= seg->is_bool() && seg->as_bool();
    return;
  }
  if (it == versions_.end()) return;  // an event for an unknown version: nothing to update
  SeriesVersion& v = it->second;
  if (event == "complete") v.stage = Stage::Complete;
  else if (event == "predicted" || event == "refined") v.step = event;
  else if (event == "segmented") {
    v.stage = Stage::Segmented;
    v.seg_file = str(j, "seg");
  } else if (event == "segment_error") {
    ++v.segment_attempts;
    v.last_error = str(j, "error");
  } else if (event == "sent") {
    v.stage = Stage::Sent;
  } else if (event == "send_error") {
    ++v.send_attempts;
    v.last_error = str(j, "error");
    v.next_send = num(j, "next");
  } else if (event == "failed") {
    v.stage = Stage::Failed;
    v.last_error = str(j, "reason");
  } else if (event == "duplicate") {
    v.instances -= v.instances > 0 ? 1 : 0;
  }
}

std::string Spool::version_for(const std::string& series_uid, const std::string& study_uid, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  int version = 1;
  if (auto l = latest_.find(series_uid); l != latest_.end()) {
    const SeriesVersion& v = versions_.at(l->second);
    if (v.stage == Stage::Receiving) {
      ++in_flight_[v.key];
      return v.key;
    }
    version = v.version + 1;
  }
  // The first instance's "received" event creates the version; reserve it now so concurrent
  // associations of the same series join it.
  SeriesVersion v;
  v.key = uid_file_stem(series_uid) + ".v" + std::to_string(version);
  v.series_uid = series_uid;
  v.study_uid = study_uid;
  v.version = version;
  v.first_received = v.last_received = now;
  versions_[v.key] = v;
  latest_[series_uid] = v.key;
  ++in_flight_[v.key];
  return v.key;
}

void Spool::add_instance(const std::string& key, const std::string& sop_uid, double now, bool is_seg) {
  std::lock_guard<std::mutex> lock(mutex_);
  SeriesVersion& v = versions_.at(key);
  Json j = Json::object();
  j["event"] = "received";
  j["key"] = key;
  j["series"] = v.series_uid;
  j["study"] = v.study_uid;
  j["version"] = v.version;
  j["sop"] = sop_uid;
  if (is_seg) j["seg_object"] = true;
  j["t"] = now;
  --in_flight_[key];
  append(j.dump());
  v.has_seg_objects |= is_seg;
  v.instances += 1;
  v.last_received = now;
}

void Spool::release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  --in_flight_[key];
}

std::vector<std::string> Spool::complete_quiet(double now, double quiet_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> done;
  for (auto& [key, v] : versions_) {
    if (v.stage != Stage::Receiving || v.instances == 0 || now - v.last_received < quiet_s) continue;
    if (auto f = in_flight_.find(key); f != in_flight_.end() && f->second > 0) continue;
    Json j = Json::object();
    j["event"] = "complete";
    j["key"] = key;
    j["instances"] = static_cast<int64_t>(v.instances);
    j["t"] = now;
    append(j.dump());
    v.stage = Stage::Complete;
    done.push_back(key);
  }
  return done;
}

void Spool::record(const std::string& key, const char* event, Json j) {
  std::lock_guard<std::mutex> lock(mutex_);
  j["event"] = event;
  j["key"] = key;
  j["t"] = now_seconds();
  const std::string line = j.dump();
  append(line);
  apply(line, false);
}

namespace {
Json fields(std::initializer_list<std::pair<const char*, Json>> kv) {
  Json j = Json::object();
  for (const auto& [k, v] : kv) j[k] = v;
  return j;
}
}  // namespace

void Spool::set_step(const std::string& key, const std::string& step) {
  if (step != "predicted" && step != "refined") fail(ExitCode::Internal, "unknown segmentation step '{}'", step);
  record(key, step.c_str(), Json::object());
}
void Spool::set_segmented(const std::string& key, const std::string& seg_file) {
  record(key, "segmented", fields({{"seg", seg_file}}));
}
void Spool::segment_error(const std::string& key, const std::string& error) {
  record(key, "segment_error", fields({{"error", error}}));
}
void Spool::set_sent(const std::string& key, const std::string& peer) { record(key, "sent", fields({{"peer", peer}})); }
void Spool::send_error(const std::string& key, const std::string& error, double next_send) {
  record(key, "send_error", fields({{"error", error}, {"next", next_send}}));
}

void Spool::set_failed(const std::string& key, const std::string& reason) {
  {
    // Move first, journal second: a crash in between leaves a version that is retried, never lost.
    std::lock_guard<std::mutex> lock(mutex_);
    const fs::path from = dir_ / "series" / key, to = dir_ / "failed" / key;
    std::error_code ec;
    if (fs::exists(from, ec)) {
      fs::remove_all(to, ec);
      fs::rename(from, to, ec);
      if (ec) log::error("cannot move '{}' to '{}': {}", from.string(), to.string(), ec.message());
    }
    std::ofstream(to / "reason.txt") << reason << "\n";
  }
  record(key, "failed", fields({{"reason", reason}}));
}

void Spool::quarantined(const std::string& name, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ofstream(dir_ / "quarantine" / (name + ".reason.txt")) << reason << "\n";
  Json j = Json::object();
  j["event"] = "quarantined";
  j["name"] = name;
  j["reason"] = reason;
  j["t"] = now_seconds();
  const std::string line = j.dump();
  append(line);
  apply(line, false);
}

std::vector<SeriesVersion> Spool::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SeriesVersion> out;
  for (const auto& [key, v] : versions_)
    if (v.instances > 0) out.push_back(v);
  return out;
}

SeriesVersion Spool::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return versions_.at(key);
}

size_t Spool::quarantine_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return quarantined_;
}

}  // namespace voxseg::pacs
