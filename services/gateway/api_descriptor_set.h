// The SessionService API's descriptors with their comments, built into the binary (the
// generated message classes carry no comments), for the OpenAPI document.
#pragma once

#include <string_view>

namespace dd {

// A serialized google.protobuf.FileDescriptorSet: every .proto of the API (session.proto and
// its imports among them), each file after its imports, with source info.
std::string_view SessionApiDescriptorSet();

}  // namespace dd
