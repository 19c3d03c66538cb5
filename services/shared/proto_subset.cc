#include "services/shared/proto_subset.h"

#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>

namespace dd {
namespace {

namespace pb = google::protobuf;

std::optional<std::string> Differing(const pb::Message& given, const pb::Message& stored,
                                     const std::string& prefix) {
  const pb::Reflection& reflection = *given.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  // Lists the fields that are set in the sense above: present, non-default or non-empty.
  reflection.ListFields(given, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    const std::string path = prefix + field->name();
    if (!field->is_repeated() && field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (auto inner = Differing(reflection.GetMessage(given, field),
                                 stored.GetReflection()->GetMessage(stored, field), path + ".")) {
        return inner;
      }
      continue;
    }
    pb::util::MessageDifferencer field_only;
    // Compares just this field of the two messages, every element of a repeated one.
    if (!field_only.CompareWithFields(given, stored, {field}, {field})) return path;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FirstFieldDiffering(const pb::Message& given,
                                               const pb::Message& stored) {
  return Differing(given, stored, "");
}

}  // namespace dd
