# Writes ${OUTPUT}: the FileDescriptorSet in ${INPUT} (protoc --descriptor_set_out, with imports
# and source info, so that the proto comments travel) as a C++ byte array, for dd-gateway's
# OpenAPI document.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(REGEX REPLACE "(('\\\\x[0-9a-f][0-9a-f]',){24})" "\\1\n    " bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from the API's protos by embed_descriptor_set.cmake. Do not edit.\n"
"#include \"services/gateway/api_descriptor_set.h\"\n\n"
"namespace dd {\nnamespace {\n\n"
"constexpr char kDescriptorSet[] = {\n    ${bytes}};\n\n"
"}  // namespace\n\n"
"std::string_view SessionApiDescriptorSet() {\n"
"  return std::string_view(kDescriptorSet, sizeof(kDescriptorSet));\n}\n\n"
"}  // namespace dd\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
