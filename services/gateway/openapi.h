// An OpenAPI 3.0 document of dd-gateway's HTTP API, made from SessionService's descriptors and
// their comments, so that web and mobile teams can read the API and generate clients from it:
// one POST path per unary method, and every request and response message as a schema in
// proto3's JSON mapping (lowerCamelCase names, enums by name, 64-bit integers as strings,
// Timestamps as RFC 3339 strings), with the error body the gateway answers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dd {

// `descriptor_set`: a serialized FileDescriptorSet holding deepdrummer.v1.SessionService, each
// file after its imports (SessionApiDescriptorSet()). `methods`: the unary methods served;
// `loop_audio`: whether GET /v1/loops/{loopId}/audio is. INTERNAL when the set does not describe
// the service, INVALID_ARGUMENT for a method it lacks.
absl::StatusOr<std::string> SessionApiOpenApi(std::string_view descriptor_set,
                                              const std::vector<std::string>& methods,
                                              bool loop_audio = true);

}  // namespace dd
