#include "voxseg/cli/app.h"

#include <cstdlib>
#include <new>

#include "voxseg/cli/commands.h"
#include "voxseg/core/atomic_file.h"
#include "voxseg/core/log.h"
#include "voxseg/core/runtime_info.h"
#include "voxseg/core/threads.h"
#include "voxseg/core/version.h"
#include "voxseg/io/threads.h"

namespace voxseg::cli {
namespace {

std::string join_command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    if (i) out += ' ';
    const std::string arg = argv[i];
    const bool quote = arg.empty() || arg.find_first_of(" \t'\"$") != std::string::npos;
    out += quote ? "'" + arg + "'" : arg;
  }
  return out;
}

bool wants_verbose(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-v" || arg == "-vv" || arg == "--verbose") return true;
  }
  return false;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void apply_verbosity(const CommonOptions& common) {
  log::Level level = log::Level::Warn;
  if (const char* env = std::getenv("VOXSEG_LOG_LEVEL")) {
    if (!log::parse_level(env, level)) log::warn("ignoring VOXSEG_LOG_LEVEL='{}' (use error|warn|info|debug)", env);
  }
  if (common.quiet) level = log::Level::Error;
  if (common.verbosity == 1) level = log::Level::Info;
  if (common.verbosity >= 2) level = log::Level::Debug;
  log::set_level(level);
}

}  // namespace

int run_app(int argc, char** argv, const AppInfo& info, const std::function<void(CLI::App&)>& declare,
            const std::function<ExitCode(Context&)>& execute) {
  const std::string program = "voxseg-" + info.verb;
  log::set_program(program);
  const Command* command = find_command(info.verb);
  if (!command) {  // a programming error: every program is registered in commands.cpp
    log::error("internal error: '{}' is not in cli::commands()", info.verb);
    return static_cast<int>(ExitCode::Internal);
  }
  CLI::App app{command->summary, program};
  // `--version -v` adds the BLAS, oneDNN ISA and threads this process runs on (known only at run time).
  const bool verbose_version = wants_verbose(argc, argv);
  app.set_version_flag("--version", [program, verbose_version] {
    std::string text =
        fmt::format("{} {} (revision {}; ITK {}, DCMTK {}, LibTorch {}, CUDA {})", program, version(), git_revision(),
                    itk_version(), dcmtk_version(), torch_version(), built_with_cuda() ? "built" : "not built");
    if (!verbose_version) return text;
    set_compute_threads(0);  // report the default the program would use
    return text + "\n" + describe_runtime();
  });
  if (!info.examples.empty()) app.footer("Examples:\n" + info.examples);
  app.get_formatter()->column_width(34);

  CommonOptions common;
  common.command_line = join_command_line(argc, argv);
  app.add_flag("-q,--quiet", common.quiet, "only print errors");
  app.add_flag("-v,--verbose", common.verbosity, "more messages (-vv for debug); env VOXSEG_LOG_LEVEL sets the default");
  app.add_flag("--json", common.json, "print machine-readable results on stdout (one JSON object per case)");
  app.add_flag("-f,--force", common.force, "overwrite existing outputs");
  app.add_option("--threads", common.threads, "CPU threads for compute (default: cores available)")
      ->check(CLI::NonNegativeNumber);
  declare(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: stdout, exit 0
    // One line as every other error (CLI11 would print two unprefixed ones) and DESIGN.md's 2,
    // not CLI11's own codes (100+).
    log::error("{}; see '{} --help'", first_line(e.what()), program);
    return static_cast<int>(ExitCode::Usage);
  }

  apply_verbosity(common);
  cleanup::install_signal_handlers();
  try {
    set_compute_threads(common.threads);  // OpenMP and the BLAS
    io::set_io_threads(common.threads);   // ITK
    Context ctx{info.verb, common};
    return static_cast<int>(execute(ctx));
  } catch (const Error& e) {
    log::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    log::error("out of memory; try a smaller --batch-size, fewer --threads or a machine with more memory");
    return static_cast<int>(ExitCode::Internal);
  } catch (const std::exception& e) {
    log::error("internal error: {} (please report)", first_line(e.what()));
    return static_cast<int>(ExitCode::Internal);
  }
}

}  // namespace voxseg::cli
