// The OpenAPI document made from the protos built into dd-gateway: every method the gateway
// serves, every schema it refers to defined, the proto3 JSON names and types the gateway
// accepts, and the protos' comments as descriptions.
#include "services/gateway/openapi.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "services/gateway/api_descriptor_set.h"
#include "services/gateway/session_gateway.h"

namespace dd {
namespace {
namespace pb = google::protobuf;

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto json = SessionApiOpenApi(SessionApiDescriptorSet(), Methods());
    ASSERT_TRUE(json.ok()) << json.status();
    ASSERT_TRUE(pb::util::JsonStringToMessage(*json, &document_).ok()) << *json;
  }
  // What dd-gateway serves.
  static std::vector<std::string> Methods() {
    // Listing its methods calls nothing: the channel never connects.
    static auto* const stub =
        deepdrummer::v1::SessionService::NewStub(
            grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()))
            .release();
    return (*SessionGateway::Create(*stub, {}))->Methods();
  }
  const pb::Struct& At(const pb::Struct& object, const std::string& key) {
    const auto found = object.fields().find(key);
    EXPECT_NE(found, object.fields().end()) << key;
    static const pb::Struct empty;
    return found == object.fields().end() ? empty : found->second.struct_value();
  }
  std::string Text(const pb::Struct& object, const std::string& key) {
    const auto found = object.fields().find(key);
    return found == object.fields().end() ? "" : found->second.string_value();
  }
  const pb::Struct& Schemas() { return At(At(document_, "components"), "schemas"); }
  const pb::Struct& Property(const std::string& message, const std::string& field) {
    return At(At(At(Schemas(), "deepdrummer.v1." + message), "properties"), field);
  }

  pb::Struct document_;
};

// Every "$ref" in `value`, as the schema names they point to.
void CollectRefs(const pb::Value& value, std::set<std::string>& refs) {
  if (value.has_struct_value()) {
    for (const auto& [key, field] : value.struct_value().fields()) {
      if (key == "$ref") {
        refs.insert(field.string_value().substr(std::string("#/components/schemas/").size()));
      }
      CollectRefs(field, refs);
    }
  } else if (value.has_list_value()) {
    for (const pb::Value& item : value.list_value().values())
      CollectRefs(item, refs);
  }
}

TEST(OpenApiSubsetTest, DescribesOnlyTheMethodsAGatewayServes) {
  auto json = SessionApiOpenApi(SessionApiDescriptorSet(), {"CreateUser", "NextLoop"},
                                /*loop_audio=*/false);
  ASSERT_TRUE(json.ok()) << json.status();
  pb::Struct document;
  ASSERT_TRUE(pb::util::JsonStringToMessage(*json, &document).ok());
  const auto& paths = document.fields().at("paths").struct_value().fields();
  EXPECT_EQ(paths.size(), 2u);
  EXPECT_TRUE(paths.contains("/v1/SessionService/CreateUser"));
  EXPECT_TRUE(paths.contains("/v1/SessionService/NextLoop"));
  EXPECT_FALSE(paths.contains("/v1/loops/{loopId}/audio"));
}

TEST_F(OpenApiTest, DescribesEveryMethodTheGatewayServes) {
  EXPECT_EQ(Text(document_, "openapi"), "3.0.3");
  const pb::Struct& paths = At(document_, "paths");
  EXPECT_EQ(paths.fields_size(), static_cast<int>(Methods().size()) + 1);  // + the audio GET.
  const pb::Struct& audio =
      At(At(At(At(At(paths, "/v1/loops/{loopId}/audio"), "get"), "responses"), "200"), "content");
  for (const char* type : {"audio/wav", "audio/flac", "audio/ogg"})
    EXPECT_TRUE(audio.fields().contains(type)) << type;
  for (const std::string& method : Methods()) {
    const pb::Struct& post = At(At(paths, "/v1/SessionService/" + method), "post");
    EXPECT_EQ(Text(post, "operationId"), method);
  }
  // The protos' comments come along.
  EXPECT_TRUE(
      absl::StrContains(Text(At(At(paths, "/v1/SessionService/Rate"), "post"), "description"),
                        "exactly once per request id"));
}

TEST_F(OpenApiTest, EverySchemaReferredToIsDefined) {
  std::set<std::string> refs;
  pb::Value whole;
  *whole.mutable_struct_value() = document_;
  CollectRefs(whole, refs);
  EXPECT_GT(refs.size(), 20u);
  for (const std::string& ref : refs)
    EXPECT_TRUE(Schemas().fields().contains(ref)) << ref;
}

TEST_F(OpenApiTest, SchemasFollowTheJsonTheGatewayAccepts) {
  // lowerCamelCase names, as the gateway parses them.
  EXPECT_EQ(Text(Property("CreateUserRequest", "displayName"), "type"), "string");
  EXPECT_TRUE(absl::StrContains(Text(Property("RateRequest", "requestId"), "description"),
                                "idempotency key"));
  // Enums by name, 64-bit integers as strings, Timestamps as RFC 3339, bytes as base64.
  std::set<std::string> ratings;
  for (const pb::Value& name :
       At(Schemas(), "deepdrummer.v1.Rating").fields().at("enum").list_value().values()) {
    ratings.insert(name.string_value());
  }
  EXPECT_TRUE(ratings.count("RATING_LIKE") && ratings.count("RATING_DISLIKE"));
  EXPECT_EQ(Text(Property("SessionOptions", "seed"), "type"), "string");
  EXPECT_EQ(Text(Property("SessionOptions", "seed"), "format"), "uint64");  // Unsigned.
  EXPECT_EQ(Text(Property("SessionResults", "finalCriticVersion"), "format"), "uint64");
  const pb::Struct& phase1_loops = Property("SessionOptions", "phase1Loops");
  EXPECT_EQ(phase1_loops.fields().at("minimum").number_value(), 0);
  EXPECT_EQ(phase1_loops.fields().at("maximum").number_value(), 4294967295.0);  // 32 bits.
  EXPECT_EQ(Text(Property("User", "createdAt"), "format"), "date-time");
  EXPECT_EQ(Text(Property("NextLoopResponse", "audio"), "format"), "byte");
  // A message field refers to its schema and keeps its description.
  const pb::Struct& loop = Property("NextLoopResponse", "loop");
  EXPECT_TRUE(loop.fields().contains("allOf"));
}

// The descriptions come from the protos' comments, those after a definition on its line too
// (CriticConfig's fields and most enum values have only those): every schema, property and enum
// value is described.
TEST_F(OpenApiTest, EverySchemaPropertyAndEnumValueIsDescribed) {
  int properties = 0;
  for (const auto& [name, schema] : Schemas().fields()) {
    const pb::Struct& fields = schema.struct_value();
    if (!fields.fields().contains("$ref")) {
      EXPECT_FALSE(Text(fields, "description").empty()) << name;
    }
    if (fields.fields().contains("enum")) {
      for (const pb::Value& value : fields.fields().at("enum").list_value().values()) {
        EXPECT_TRUE(absl::StrContains(Text(fields, "description"), value.string_value() + ": "))
            << name << " does not describe " << value.string_value();
      }
    }
    if (!fields.fields().contains("properties")) continue;
    for (const auto& [property, definition] :
         fields.fields().at("properties").struct_value().fields()) {
      ++properties;
      EXPECT_FALSE(Text(definition.struct_value(), "description").empty())
          << name << "." << property;
    }
  }
  EXPECT_GT(properties, 100);
  EXPECT_TRUE(absl::StrContains(Text(Property("CriticConfig", "learningRate"), "description"),
                                "Adam learning rate"));
}

TEST_F(OpenApiTest, RefusesAMethodTheServiceLacks) {
  auto json = SessionApiOpenApi(SessionApiDescriptorSet(), {"Teleport"});
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(json.status().message(), "SessionService has no method Teleport");
  EXPECT_EQ(SessionApiOpenApi("not a descriptor set", {}).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace dd
