#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace voxseg {

/// A file written under a temporary name in the target's folder and renamed into place by commit().
/// If it is destroyed without commit (an exception) or the process gets SIGINT/SIGTERM, the partial
/// file is removed. The temporary keeps the real extension (".<stem>.partial-<pid><ext>") because ITK
/// picks its writer by extension.
class AtomicFile {
 public:
  /// Throws Error(CannotWrite) when the target's folder does not exist, or when the target exists
  /// and overwrite is false.
  AtomicFile(std::filesystem::path target, bool overwrite);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  /// fsyncs the temporary file, renames it onto the target and fsyncs the folder, so a committed
  /// output survives a crash or power loss. Throws Error(CannotWrite).
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool overwrite_;
  bool committed_ = false;
};

/// fsync of a file or folder; false when it cannot be opened or synced.
bool sync_to_disk(const std::filesystem::path& path);

/// Writes text to `target` atomically. Throws Error(CannotWrite).
void write_text_atomic(const std::filesystem::path& target, const std::string& text, bool overwrite);

/// Compound extension of a path as users mean it: ".nii.gz" for "a.nii.gz", ".nrrd" for "b.nrrd".
std::string full_extension(const std::filesystem::path& path);
/// File name without its full extension: "case_001" for "dir/case_001.nii.gz".
std::string stem_without_extension(const std::filesystem::path& path);

/// Fails with Error(CannotWrite) when `path` exists and overwrite is false, or its folder is missing.
void check_output_path(const std::filesystem::path& path, bool overwrite);

/// Creates `dir` (and its parents) if needed and proves it writable by creating and removing a probe
/// file, so that a batch learns of a read-only or full output folder before any heavy work.
/// Throws Error(CannotWrite) naming the folder and the reason.
void check_output_folder(const std::filesystem::path& dir);

/// Removes the temporaries (".<stem>.partial-<pid><ext>") that a killed earlier run left for these
/// targets: only files whose <pid> is not a live process on this machine (and not this process), so
/// a concurrent writer's temporary stays. Lists each distinct folder once. Returns how many went.
int remove_stale_partials(const std::vector<std::filesystem::path>& targets);

namespace cleanup {
/// Paths removed if the process is interrupted; AtomicFile registers its temporary here.
void add(const std::filesystem::path& path);
void remove(const std::filesystem::path& path);
/// Installs SIGINT/SIGTERM/SIGHUP handlers that delete registered paths and exit 128+N.
void install_signal_handlers();
}  // namespace cleanup

}  // namespace voxseg
