// Whether a request repeats what was stored: for idempotent retries that must not silently
// return the result of a different request sent under the same key.
#pragma once

#include <optional>
#include <string>

#include <google/protobuf/message.h>

namespace dd {

// The path of the first field that `given` sets to something other than `stored` holds (e.g.
// "priors.bpm"), or none when every field it sets agrees. A field counts as set when it has
// presence and is present, when it is a scalar without presence and differs from its default,
// or when it is a repeated field with elements (compared whole, in order). Fields `given` leaves
// unset may hold anything in `stored`, where defaults were filled in. Both messages must be of
// one type.
std::optional<std::string> FirstFieldDiffering(const google::protobuf::Message& given,
                                               const google::protobuf::Message& stored);

}  // namespace dd
