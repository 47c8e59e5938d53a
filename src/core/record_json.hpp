// Record metadata as JSON, shared by the CLI's --json output and the C API's keyward_list, so
// that both speak the same document. Values never pass through here.
#pragma once

#include "core/json_writer.hpp"
#include "keyward/records.hpp"

namespace keyward::core {

void record_json(Json& j, const RecordInfo& r);
void version_json(Json& j, const RecordVersion& v);

}  // namespace keyward::core
