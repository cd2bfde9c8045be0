#include "voxseg/io/threads.h"

#include <itkMultiThreaderBase.h>

#include "voxseg/core/threads.h"

namespace voxseg::io {

void set_io_threads(int n) {
  if (n <= 0) n = available_cores();
  // The maximum first: the default is clamped to it.
  itk::MultiThreaderBase::SetGlobalMaximumNumberOfThreads(itk::ThreadIdType(n));
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(itk::ThreadIdType(n));
}

int io_threads() { return int(itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads()); }

}  // namespace voxseg::io
