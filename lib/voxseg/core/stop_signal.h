#pragma once
// SIGINT/SIGTERM as a request to stop: long loops (training, the PACS listener) install a
// StopSignalScope, poll stop_signal() and finish their current step instead of dying mid-write.
#include <signal.h>

namespace voxseg {

/// What a second SIGINT/SIGTERM does while the loop is already stopping.
enum class SecondSignal {
  Ignore,  ///< nothing: the first signal stays recorded and the loop keeps finishing its step
  Exit,    ///< _exit(128 + signal) at once (Ctrl-C pressed twice: the user wants out now)
};

/// Handlers for SIGINT and SIGTERM that record the signal, installed for the object's lifetime;
/// the destructor puts back the handlers it found. Construction resets stop_signal() to 0. The
/// flag is process-wide: one scope at a time.
class StopSignalScope {
 public:
  explicit StopSignalScope(SecondSignal second = SecondSignal::Ignore);
  ~StopSignalScope();
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

 private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
};

/// The first stop seen since the last scope began: SIGINT or SIGTERM, -1 after request_stop(),
/// 0 for none. Thread-safe; the value stays after the scope ends.
int stop_signal();

/// Makes stop_signal() return -1 unless a stop came first: a thread that failed (the listener's DICOM
/// server) tells the loop polling stop_signal() to wind down.
void request_stop();

}  // namespace voxseg
