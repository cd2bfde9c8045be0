// configure_dcmtk_log (io_common.h), apart from io_common.cpp because DCMTK is included only by
// io/dicom* files.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/oflog.h>

#include "voxseg/core/log.h"
#include "voxseg/io/detail/io_common.h"

namespace voxseg::io::detail {

void configure_dcmtk_log() {
  OFLog::configure(log::enabled(log::Level::Debug) ? OFLogger::WARN_LOG_LEVEL : OFLogger::FATAL_LOG_LEVEL);
}

}  // namespace voxseg::io::detail
