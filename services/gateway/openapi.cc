#include "services/gateway/openapi.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace dd {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;

pb::Value String(std::string text) {
  pb::Value value;
  value.set_string_value(std::move(text));
  return value;
}

pb::Value Bool(bool flag) {
  pb::Value value;
  value.set_bool_value(flag);
  return value;
}

pb::Value Number(double number) {
  pb::Value value;
  value.set_number_value(number);
  return value;
}

pb::Value Object(std::initializer_list<std::pair<std::string, pb::Value>> fields) {
  pb::Value value;
  auto& out = *value.mutable_struct_value()->mutable_fields();
  for (const auto& [key, field] : fields)
    out[key] = field;
  return value;
}

pb::Value List(std::vector<pb::Value> items) {
  pb::Value value;
  for (pb::Value& item : items)
    *value.mutable_list_value()->add_values() = std::move(item);
  return value;
}

pb::Value Ref(const std::string& schema) {
  return Object({{"$ref", String("#/components/schemas/" + schema)}});
}

pb::Value Json(const pb::Value& schema) {
  return Object({{"application/json", Object({{"schema", schema}})}});
}

// A definition's comment in its .proto, the lines before it and then the one after it on its
// line (most enum values and CriticConfig's fields have only that): lines joined, blank lines
// kept as paragraph breaks.
template <typename Descriptor>
std::string Comment(const Descriptor& descriptor) {
  pb::SourceLocation location;
  if (!descriptor.GetSourceLocation(&location)) return "";
  std::string text;
  bool paragraph = false;
  for (const std::string* comment : {&location.leading_comments, &location.trailing_comments}) {
    for (absl::string_view line : absl::StrSplit(*comment, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (line.empty()) {
        paragraph = !text.empty();
        continue;
      }
      absl::StrAppend(&text, text.empty() ? "" : (paragraph ? "\n\n" : " "), line);
      paragraph = false;
    }
    paragraph = !text.empty();
  }
  return text;
}

void Describe(pb::Value& schema, const std::string& description) {
  if (!description.empty()) {
    (*schema.mutable_struct_value()->mutable_fields())["description"] = String(description);
  }
}

// Schemas of the messages and enums the API uses, under components.schemas.
class Schemas {
 public:
  // The schema of a field's value, referring to message and enum schemas added on the way.
  pb::Value OfField(const FieldDescriptor& field) {
    if (field.is_map()) {
      return Object({{"type", String("object")},
                     {"additionalProperties", OfSingle(*field.message_type()->map_value())}});
    }
    if (field.is_repeated()) return Object({{"type", String("array")}, {"items", OfSingle(field)}});
    return OfSingle(field);
  }

  // Adds the message's schema (and those it refers to); returns its name.
  std::string AddMessage(const pb::Descriptor& message) {
    const std::string name = message.full_name();
    if (!added_.insert(name).second) return name;
    pb::Value properties = Object({});
    for (int i = 0; i < message.field_count(); ++i) {
      const FieldDescriptor& field = *message.field(i);
      pb::Value schema = OfField(field);
      if (schema.struct_value().fields().contains("$ref")) {
        // OpenAPI 3.0 ignores what stands beside a $ref; allOf keeps the description.
        schema = Object({{"allOf", List({schema})}});
      }
      Describe(schema, Comment(field));
      (*properties.mutable_struct_value()->mutable_fields())[field.json_name()] = schema;
    }
    pb::Value schema = Object({{"type", String("object")}, {"properties", properties}});
    Describe(schema, Comment(message));
    (*schemas_.mutable_fields())[name] = schema;
    return name;
  }

  pb::Struct& all() { return schemas_; }

 private:
  pb::Value OfSingle(const FieldDescriptor& field) {
    switch (field.type()) {
      case FieldDescriptor::TYPE_DOUBLE:
      case FieldDescriptor::TYPE_FLOAT:
        return Object({{"type", String("number")}});
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        return Object({{"type", String("integer")}, {"format", String("int32")}});
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        // No "uint32" format in OpenAPI 3.0's registry: int64 bounded to 32 bits, so that a
        // validator refuses what the gateway's JSON parser would refuse as out of range.
        return Object({{"type", String("integer")},
                       {"format", String("int64")},
                       {"minimum", Number(0)},
                       {"maximum", Number(4294967295.0)}});
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        // proto3's JSON mapping writes 64-bit integers as strings (JavaScript numbers are not
        // exact beyond 2^53); the gateway accepts either.
        return Object({{"type", String("string")}, {"format", String("int64")}});
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        // As above; "uint64", not "int64", so that validators and generated clients take values
        // beyond 2^63 (a seed may be any of the 2^64).
        return Object({{"type", String("string")}, {"format", String("uint64")}});
      case FieldDescriptor::TYPE_BOOL:
        return Object({{"type", String("boolean")}});
      case FieldDescriptor::TYPE_STRING:
        return Object({{"type", String("string")}});
      case FieldDescriptor::TYPE_BYTES:
        return Object({{"type", String("string")}, {"format", String("byte")}});
      case FieldDescriptor::TYPE_ENUM:
        return Ref(AddEnum(*field.enum_type()));
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return OfMessage(*field.message_type());
    }
    return Object({});
  }

  pb::Value OfMessage(const pb::Descriptor& message) {
    const std::string& name = message.full_name();
    if (name == "google.protobuf.Timestamp") {
      return Object({{"type", String("string")}, {"format", String("date-time")}});
    }
    if (name == "google.protobuf.Duration") {
      return Object({{"type", String("string")}, {"example", String("1.5s")}});
    }
    return Ref(AddMessage(message));
  }

  std::string AddEnum(const pb::EnumDescriptor& type) {
    const std::string name = type.full_name();
    if (!added_.insert(name).second) return name;
    std::vector<pb::Value> values;
    std::string description = Comment(type);
    for (int i = 0; i < type.value_count(); ++i) {
      const pb::EnumValueDescriptor& value = *type.value(i);
      values.push_back(String(value.name()));
      if (const std::string comment = Comment(value); !comment.empty()) {
        absl::StrAppend(&description, description.empty() ? "" : "\n", value.name(), ": ", comment);
      }
    }
    pb::Value schema = Object({{"type", String("string")}, {"enum", List(std::move(values))}});
    Describe(schema, description);
    (*schemas_.mutable_fields())[name] = schema;
    return name;
  }

  pb::Struct schemas_;
  std::set<std::string> added_;
};

pb::Value ErrorSchema() {
  std::vector<pb::Value> codes;
  for (const char* code : {"CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                           "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                           "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                           "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}) {
    codes.push_back(String(code));
  }
  pb::Value schema =
      Object({{"type", String("object")},
              {"required", List({String("code"), String("message")})},
              {"properties",
               Object({{"code", Object({{"type", String("string")},
                                        {"enum", List(std::move(codes))},
                                        {"description", String("The gRPC status code's name.")}})},
                       {"message",
                        Object({{"type", String("string")},
                                {"description",
                                 String("What was wrong, naming the field or the thing "
                                        "at fault; meant for developers, not end users.")}})}})}});
  Describe(schema,
           "An error: the gRPC status code's name and what was wrong, with the HTTP status the "
           "code maps to (400 INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE; 404 "
           "NOT_FOUND; 409 ALREADY_EXISTS and ABORTED; 413 a body over --max_body_bytes; 429 "
           "RESOURCE_EXHAUSTED; 503 UNAVAILABLE; 504 DEADLINE_EXCEEDED). Refused by the HTTP "
           "layer before the body is read, the connection then closed: 415 a compressed body, 431 "
           "a request line and headers "
           "over 64 KiB, 408 a request still arriving 30 s after its first byte.");
  return schema;
}

// GET /v1/loops/{loopId}/audio: StreamLoopAudio for <audio src> and media players.
pb::Value LoopAudioOperation(const pb::Value& request_id_header, const pb::Value& echoed) {
  const auto parameter = [](const char* name, const char* in, bool required, pb::Value schema,
                            const char* description) {
    return Object({{"name", String(name)},
                   {"in", String(in)},
                   {"required", Bool(required)},
                   {"schema", std::move(schema)},
                   {"description", String(description)}});
  };
  const pb::Value binary = Object({{"type", String("string")}, {"format", String("binary")}});
  return Object(
      {{"operationId", String("LoopAudio")},
       {"tags", List({String("SessionService")})},
       {"description",
        String("The encoded audio of a presented loop (SessionService.StreamLoopAudio), for an "
               "<audio> element or a media player: what NextLoop returns by reference with "
               "audioDelivery AUDIO_DELIVERY_REFERENCE. The bytes of a loop and format never "
               "change, and replies say so to caches.")},
       {"parameters",
        List({parameter("loopId", "path", true, Object({{"type", String("string")}}),
                        "NextLoopResponse.audioRef."),
              parameter("format", "query", false,
                        Object({{"type", String("string")},
                                {"enum", List({String("wav"), String("flac"), String("ogg")})}}),
                        "The encoding; when absent, the session's (NextLoopResponse.audioFormat)."),
              parameter("userId", "query", false, Object({{"type", String("string")}}),
                        "When set, the loop's session must belong to this user "
                        "(PERMISSION_DENIED otherwise)."),
              request_id_header})},
       {"responses",
        Object(
            {{"200", Object({{"description", String("The audio.")},
                             {"headers", echoed},
                             {"content", Object({{"audio/wav", Object({{"schema", binary}})},
                                                 {"audio/flac", Object({{"schema", binary}})},
                                                 {"audio/ogg", Object({{"schema", binary}})}})}})},
             {"default", Object({{"description", String("An error.")},
                                 {"headers", echoed},
                                 {"content", Json(Ref("Error"))}})}})}});
}

}  // namespace

absl::StatusOr<std::string> SessionApiOpenApi(std::string_view descriptor_set,
                                              const std::vector<std::string>& methods,
                                              bool loop_audio) {
  pb::FileDescriptorSet files;
  if (!files.ParseFromArray(descriptor_set.data(), static_cast<int>(descriptor_set.size()))) {
    return absl::InternalError("the API's descriptor set does not parse");
  }
  pb::DescriptorPool pool;
  for (const pb::FileDescriptorProto& file : files.file()) {
    if (pool.BuildFile(file) == nullptr) {
      return absl::InternalError(
          absl::StrCat("the API's descriptor of ", file.name(), " does not build"));
    }
  }
  const pb::ServiceDescriptor* service = pool.FindServiceByName("deepdrummer.v1.SessionService");
  if (service == nullptr) return absl::InternalError("no deepdrummer.v1.SessionService");

  Schemas schemas;
  pb::Value paths = Object({});
  const pb::Value header = Object(
      {{"name", String("X-Request-Id")},
       {"in", String("header")},
       {"required", Bool(false)},
       {"schema", Object({{"type", String("string")}, {"maxLength", Number(128)}})},
       {"description", String("Optional id of this request, 1-128 printable ASCII characters, "
                              "for the logs of every service it reaches; the reply carries it, "
                              "or a new one when none was sent.")}});
  const pb::Value echoed =
      Object({{"X-Request-Id",
               Object({{"description", String("The request's id: the client's, or a new one.")},
                       {"schema", Object({{"type", String("string")}})}})}});
  for (const std::string& name : methods) {
    const pb::MethodDescriptor* method = service->FindMethodByName(name);
    if (method == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("SessionService has no method ", name));
    }
    const std::string input = schemas.AddMessage(*method->input_type());
    const std::string output = schemas.AddMessage(*method->output_type());
    pb::Value operation =
        Object({{"operationId", String(name)},
                {"tags", List({String("SessionService")})},
                {"parameters", List({header})},
                {"requestBody", Object({{"required", Bool(true)}, {"content", Json(Ref(input))}})},
                {"responses",
                 Object({{"200", Object({{"description", String(absl::StrCat("The ", output, "."))},
                                         {"headers", echoed},
                                         {"content", Json(Ref(output))}})},
                         {"default", Object({{"description", String("An error.")},
                                             {"headers", echoed},
                                             {"content", Json(Ref("Error"))}})}})}});
    Describe(operation, Comment(*method));
    (*paths.mutable_struct_value()->mutable_fields())["/v1/SessionService/" + name] =
        Object({{"post", operation}});
  }
  if (loop_audio) {
    (*paths.mutable_struct_value()->mutable_fields())["/v1/loops/{loopId}/audio"] =
        Object({{"get", LoopAudioOperation(header, echoed)}});
  }
  (*schemas.all().mutable_fields())["Error"] = ErrorSchema();

  const pb::Value info = Object(
      {{"title", String("DeepDrummer session API (dd-gateway)")},
       {"version", String("v1")},
       {"description",
        String("SessionService over HTTP/JSON: each method is POST /v1/SessionService/<Method> "
               "with the request message in proto3's JSON mapping; the reply is the response "
               "message, fields at their defaults included, or an Error. The gRPC API, with "
               "the streaming methods this one leaves out, is deepdrummer.v1.SessionService.")}});
  pb::Value components;
  *(*components.mutable_struct_value()->mutable_fields())["schemas"].mutable_struct_value() =
      std::move(schemas.all());
  pb::Value document = Object(
      {{"openapi", String("3.0.3")}, {"info", info}, {"paths", paths}, {"components", components}});
  std::string json;
  if (!pb::util::MessageToJsonString(document, &json).ok()) {
    return absl::InternalError("the OpenAPI document does not print as JSON");
  }
  return json;
}

}  // namespace dd
