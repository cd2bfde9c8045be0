#pragma once

namespace voxseg {
/// Values stamped at configure time (cmake/version_info.cpp.in).
const char* version();
const char* git_revision();
const char* itk_version();
const char* dcmtk_version();
const char* torch_version();
bool built_with_cuda();
}  // namespace voxseg
