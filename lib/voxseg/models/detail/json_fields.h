#pragma once
// The strict field readers moved to core (voxseg/core/json_fields.h); these names stay for models code.
#include "voxseg/core/json_fields.h"

namespace voxseg::models::detail {

using json::field_error;
using json::index_field;
using json::join_field;
using json::read_bool;
using json::read_int;
using json::read_int_list;
using json::read_number;
using json::read_number_list;
using json::read_string;
using json::reject_unknown_members;
using json::require_member;
using json::require_object;

}  // namespace voxseg::models::detail
