#include "voxseg/pacs/listener.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <fstream>
#include <thread>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/sha256.h"
#include "voxseg/core/stop_signal.h"
#include "voxseg/pacs/client.h"
#include "voxseg/pacs/detail/dcmtk.h"
#include "voxseg/pacs/spool.h"
#include "voxseg/pacs/steps.h"

namespace fs = std::filesystem;

namespace voxseg::pacs {
namespace {

std::string text_of(DcmDataset& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFString(tag, v);
  return v.c_str();
}

// Why an instance cannot join a series (empty: fine). Checked before the C-STORE response.
std::string validate(DcmDataset& ds, const detail::IncomingInstance& in, Uint16& status) {
  status = STATUS_STORE_Error_CannotUnderstand;
  const std::string sop_class = text_of(ds, DCM_SOPClassUID), sop = text_of(ds, DCM_SOPInstanceUID);
  if (sop_class != in.sop_class || sop != in.sop_instance) {
    status = STATUS_STORE_Error_DataSetDoesNotMatchSOPClass;
    return "SOP Class/Instance UID in the dataset (" + sop_class + ", " + sop + ") differ from the C-STORE request";
  }
  const auto& classes = detail::storage_sop_classes();
  if (std::find(classes.begin(), classes.end(), sop_class) == classes.end()) {
    status = STATUS_STORE_Refused_SOPClassNotSupported;
    return "SOP class " + sop_class + " is not an image storage class";
  }
  for (const auto& [tag, name] : {std::pair{DCM_SOPInstanceUID, "SOP Instance UID"},
                                  std::pair{DCM_StudyInstanceUID, "Study Instance UID"},
                                  std::pair{DCM_SeriesInstanceUID, "Series Instance UID"}})
    if (!is_valid_uid(text_of(ds, tag))) return std::string(name) + " missing or not a valid UID";
  DcmElement* pixels = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixels).bad() || !pixels) return "no Pixel Data";
  if (!DcmXfer(in.transfer_syntax.c_str()).isEncapsulated()) {
    Uint16 rows = 0, cols = 0, samples = 1, bits = 0;
    Sint32 frames = 1;
    ds.findAndGetUint16(DCM_Rows, rows);
    ds.findAndGetUint16(DCM_Columns, cols);
    ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
    ds.findAndGetUint16(DCM_BitsAllocated, bits);
    ds.findAndGetSint32(DCM_NumberOfFrames, frames);
    if (rows == 0 || cols == 0 || bits == 0) return "Rows, Columns or Bits Allocated missing";
    const uint64_t bits_total = uint64_t(rows) * cols * std::max<Uint16>(samples, 1) * bits *
                                uint64_t(std::max<Sint32>(frames, 1));
    const uint64_t need = (bits_total + 7) / 8;
    if (pixels->getLength() < need)
      return "truncated Pixel Data: " + std::to_string(pixels->getLength()) + " bytes, " + std::to_string(need) +
             " expected from Rows x Columns x Samples x Bits x Frames";
  }
  return "";
}

struct ChildResult {
  int exit_code = -1, signal = 0;
};

// fork + exec with the child's output in `log_file`; the child gets its own process group (a
// terminal's Ctrl-C reaches only the listener, which then finishes the step) and dies with us.
ChildResult run_child(const std::vector<std::string>& argv, const fs::path& log_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail(ExitCode::Internal, "cannot fork: {}", std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::close_range(3, ~0U, 0);  // the listening socket and the journal stay with the listener
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail(ExitCode::Internal, "waitpid: {}", std::strerror(errno));
  ChildResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

std::string last_error_line(const fs::path& log_file) {
  std::ifstream in(log_file);
  std::string line, last, last_error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.find("error") != std::string::npos) last_error = line;
  }
  return last_error.empty() ? last : last_error;
}

class Listener {
 public:
  Listener(const ListenOptions& o, const NetworkOptions& n) : o_(o), n_(n), spool_(o.spool, true) {
    // Hashed once: the refined SEGs name the checkpoint (a ViT-H file takes a few seconds).
    if (!o.refine.checkpoint.empty()) sam_sha256_ = sha256_file(o.refine.checkpoint, ExitCode::BadModel);
  }

  void run() {
    // Resume: complete versions are segmented again, segmented ones sent (exactly once: see docs).
    for (const auto& v : spool_.snapshot())
      if (v.stage == Stage::Complete) queue_.push_back(v.key);
    log::info("listening as {} on port {}, spool '{}', sending to {}", n_.aet, o_.port, o_.spool.string(),
              o_.send_to.str());
    detail::ScpHandler handler;
    handler.our_aet = n_.aet;
    handler.allowed_calling = o_.allow;
    handler.on_instance = [this](detail::IncomingInstance& in) { return receive(in); };
    detail::StorageServer server(handler, o_.port, n_, o_.max_associations);
    std::string server_error;
    std::thread server_thread([&] {
      try {
        server.run();
      } catch (const Error& e) {
        server_error = e.what();
        request_stop();
      }
    });
    std::vector<std::thread> workers;
    for (int i = 0; i < std::max(1, o_.workers); ++i) workers.emplace_back([this] { work(); });
    std::thread sender([this] { send_loop(); });

    while (stop_signal() == 0) {
      for (const auto& key : spool_.complete_quiet(now_seconds(), o_.quiet_seconds)) {
        log::info("series version {} complete ({} instances)", key, spool_.get(key).instances);
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(key);
        cv_.notify_all();
      }
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
    log::info("stopping: finishing the current steps");
    server.stop();
    server_thread.join();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      cv_.notify_all();
    }
    for (auto& w : workers) w.join();
    sender.join();
    if (!server_error.empty()) throw Error(ExitCode::Network, server_error);
  }

 private:
  Uint16 receive(detail::IncomingInstance& in) {
    DcmDataset& ds = *in.dataset;
    Uint16 status = STATUS_Success;
    const std::string why = validate(ds, in, status);
    const double now = now_seconds();
    if (!why.empty()) {
      quarantine(in, why);
      return status;
    }
    const std::string key = spool_.version_for(text_of(ds, DCM_SeriesInstanceUID), text_of(ds, DCM_StudyInstanceUID), now);
    const fs::path dir = spool_.folder(key) / "instances";
    try {
      std::error_code ec;
      fs::create_directories(dir, ec);
      detail::write_dataset_durable(ds, DcmXfer(in.transfer_syntax.c_str()).getXfer(),
                                    dir / (in.sop_instance + ".dcm"));  // a valid UID: checked above
      spool_.add_instance(key, in.sop_instance, now, in.sop_class == UID_SegmentationStorage);
    } catch (...) {
      spool_.release(key);
      throw;  // answered "out of resources": the sender keeps the instance and retries
    }
    log::debug("received {} from {} into {}", in.sop_instance, in.calling_aet, key);
    return STATUS_Success;
  }

  void quarantine(detail::IncomingInstance& in, const std::string& why) {
    const std::string name = std::to_string(static_cast<long long>(now_seconds() * 1000)) + "-" +
                             uid_file_stem(in.sop_instance);
    log::warn("quarantined an instance from {} ({}): {}", in.calling_aet, name, why);
    try {
      detail::write_dataset_durable(*in.dataset, DcmXfer(in.transfer_syntax.c_str()).getXfer(),
                                    o_.spool / "quarantine" / (name + ".dcm"));
    } catch (const Error& e) {
      log::warn("{}", e.what());
    }
    spool_.quarantined(name, why + " (from " + in.calling_aet + " " + in.peer_ip + ")");
  }

  void work() {
    for (;;) {
      std::string key;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;  // pending versions stay Complete in the journal: resumed at the next start
        key = queue_.front();
        queue_.pop_front();
      }
      try {
        segment(key);
      } catch (const std::exception& e) {
        log::error("segmenting {}: {}", key, e.what());
        spool_.segment_error(key, e.what());
      }
    }
  }

  // One child step of a segmentation. True when it exited 0 and wrote `product`; else the error is
  // journaled and the version is either requeued (a crash: retried from this step) or failed.
  bool run_step(const std::string& key, const char* step, const std::vector<std::string>& argv,
                const fs::path& log_file, const fs::path& product, const char* what) {
    const ChildResult r = run_child(argv, log_file);
    std::error_code ec;
    if (r.exit_code == 0 && fs::exists(product, ec)) return true;
    const std::string rel = product.parent_path().filename().string() + "/" + product.filename().string();
    std::string reason = r.signal ? fmt::format("{} killed by signal {}", step, r.signal)
                         : r.exit_code == 0 ? fmt::format("{} wrote no {} ({})", step, what, rel)
                                            : fmt::format("{} exited with {}", step, r.exit_code);
    const std::string detail_line = last_error_line(log_file);
    if (!detail_line.empty()) reason += ": " + detail_line;
    spool_.segment_error(key, reason);
    const bool permanent = r.exit_code >= 2 && r.exit_code <= 5;
    if (permanent || spool_.get(key).segment_attempts >= o_.segment_attempts) {
      log::error("series version {} failed: {} (moved to failed/)", key, reason);
      spool_.set_failed(key, reason);
    } else {
      log::warn("series version {}: {}; retrying", key, reason);
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(key);
    }
    return false;
  }

  void segment(const std::string& key) {
    const SeriesVersion v = spool_.get(key);
    if (v.has_seg_objects) {  // e.g. our own SEG routed back: never segment a segmentation
      spool_.set_failed(key, "the series holds DICOM SEG objects, not images: stored, not segmented");
      return;
    }
    const fs::path folder = spool_.folder(key), instances = folder / "instances", out = folder / "out";
    std::error_code ec;
    fs::create_directories(out, ec);
    const fs::path labels = out / "labels.nii.gz";
    if (o_.refine.checkpoint.empty()) {  // one step: voxseg-predict --dicom-seg
      const auto argv = predict_command(o_, instances, labels);
      log::info("segmenting {}: {}", key, argv.front());
      if (!run_step(key, "segmentation", argv, out / "predict.log", out / "labels.seg.dcm", "DICOM SEG")) return;
      return segmented(key, "out/labels.seg.dcm");
    }
    // predict -> refine -> SEG, each step journaled: a restart resumes after the last one done, and a
    // stop request (SIGTERM) ends the work after the current step.
    const fs::path refined = out / "refined.nii.gz", seg = out / "refined.seg.dcm";
    const int done = v.step == "refined" && fs::exists(refined, ec)                            ? 2
                     : (v.step == "predicted" || v.step == "refined") && fs::exists(labels, ec) ? 1
                                                                                                 : 0;
    if (done > 0) log::info("resuming {} after its {} step", key, done == 2 ? "refine" : "predict");
    if (done < 1) {
      const auto argv = predict_command(o_, instances, labels);
      log::info("segmenting {}: {}", key, argv.front());
      if (!run_step(key, "prediction", argv, out / "predict.log", labels, "label map")) return;
      spool_.set_step(key, "predicted");
      if (stop_signal() != 0) return;
    }
    if (done < 2) {
      log::info("refining {} with {}", key, o_.refine.checkpoint);
      if (!run_step(key, "refinement", refine_command(o_, instances, labels, refined), out / "refine.log", refined,
                    "label map"))
        return;
      spool_.set_step(key, "refined");
      if (stop_signal() != 0) return;
    }
    const RefineProvenance provenance = refine_provenance(o_, out / "labels.json", sam_sha256_);
    if (!run_step(key, "DICOM SEG conversion", seg_command(o_, refined, instances, seg, provenance),
                  out / "convert.log", seg, "DICOM SEG"))
      return;
    segmented(key, "out/refined.seg.dcm");
  }

  void segmented(const std::string& key, const std::string& seg_file) {
    spool_.set_segmented(key, seg_file);
    log::info("segmented {}", key);
    cv_.notify_all();
  }

  void send_loop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
      const double now = now_seconds();
      for (const auto& v : spool_.snapshot()) {
        if (v.stage != Stage::Segmented || v.next_send > now) continue;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (stopping_) return;
        }
        send(v);
      }
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(250));
    }
  }

  void send(const SeriesVersion& v) {
    const fs::path seg = spool_.folder(v.key) / v.seg_file;
    std::string error;
    try {
      NetworkOptions out = n_;
      out.tls.enabled = o_.send_tls;
      const StoreSummary s = store(o_.send_to, {seg}, out);
      if (s.sent == 1) {
        spool_.set_sent(v.key, o_.send_to.str());
        log::info("sent the SEG of {} to {}", v.key, o_.send_to.str());
        return;
      }
      error = s.failures.empty() ? "not sent" : s.failures.front();
    } catch (const std::exception& e) {
      error = e.what();
    }
    // Never dropped: retried with a doubling delay (bounded by retry_max_s) until it is delivered.
    const double delay = std::min(o_.retry_max_s, o_.retry_initial_s * std::pow(2.0, std::min(v.send_attempts, 30)));
    log::warn("sending the SEG of {} failed (attempt {}), retrying in {:.0f} s: {}", v.key, v.send_attempts + 1,
              delay, error);
    spool_.send_error(v.key, error, now_seconds() + delay);
  }

  ListenOptions o_;
  std::string sam_sha256_;
  NetworkOptions n_;
  Spool spool_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
};

}  // namespace

void run_listener(const ListenOptions& o, const NetworkOptions& n) {
  check_ae_title(n.aet, "--aet");
  if (o.allow.empty()) fail(ExitCode::Usage, "--allow: name the calling AE titles that may send (e.g. --allow CT1,MR2)");
  for (const auto& a : o.allow) check_ae_title(a, "--allow");
  if (o.model.empty() == o.nnunet.empty()) fail(ExitCode::Usage, "give a model: -m BUNDLE or --nnunet FOLDER");
  if (o.port == 0) fail(ExitCode::Usage, "--port: the port to listen on");
  if (o.send_tls && (n.tls.ca.empty() || n.tls.cert.empty()))
    fail(ExitCode::Usage, "--send-tls: give --cert, --key and --ca (used for both directions)");
  std::error_code ec;
  if (!o.model.empty() && !fs::is_directory(o.model, ec))
    fail(ExitCode::BadModel, "model bundle '{}' is not a folder", o.model);
  check_refine_options(o);
  detail::init_dcmtk();
  StopSignalScope stop_signals;  // the scheduler polls stop_signal()
  Listener listener(o, n);
  listener.run();
  if (stop_signal() > 0) log::info("stopped by signal {}", stop_signal());
}

}  // namespace voxseg::pacs
