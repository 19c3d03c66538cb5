// The API contract is documented element by element: every service, method, message, field, enum
// and enum value of proto/deepdrummer/v1 carries a comment of its own. The comments are what
// client teams read, and what dd-gateway's OpenAPI document describes each field with.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

namespace dd {
namespace {

namespace pb = google::protobuf;

class ApiDocsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(DD_API_DESCRIPTOR_SET_PATH, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << DD_API_DESCRIPTOR_SET_PATH;
    std::stringstream bytes;
    bytes << in.rdbuf();
    pb::FileDescriptorSet set;
    ASSERT_TRUE(set.ParseFromString(bytes.str()));
    for (const pb::FileDescriptorProto& file : set.file()) {
      const pb::FileDescriptor* built = pool_.BuildFile(file);
      ASSERT_NE(built, nullptr) << file.name();
      if (file.package() == "deepdrummer.v1") files_.push_back(built);
    }
  }

  // Where the API's own files hold an element without a comment, its full name.
  template <typename Descriptor>
  void Check(const Descriptor* element, std::vector<std::string>& undocumented) const {
    pb::SourceLocation location;
    ASSERT_TRUE(element->GetSourceLocation(&location))
        << element->full_name() << " has no source location: is the set built with source info?";
    if (location.leading_comments.find_first_not_of(" \n") == std::string::npos &&
        location.trailing_comments.find_first_not_of(" \n") == std::string::npos) {
      undocumented.push_back(element->full_name());
    }
  }

  void CheckEnum(const pb::EnumDescriptor* type, std::vector<std::string>& undocumented) const {
    Check(type, undocumented);
    for (int v = 0; v < type->value_count(); ++v)
      Check(type->value(v), undocumented);
  }

  void CheckMessage(const pb::Descriptor* type, std::vector<std::string>& undocumented) const {
    Check(type, undocumented);
    for (int f = 0; f < type->field_count(); ++f)
      Check(type->field(f), undocumented);
    for (int n = 0; n < type->nested_type_count(); ++n) {
      if (!type->nested_type(n)->options().map_entry())
        CheckMessage(type->nested_type(n), undocumented);
    }
    for (int e = 0; e < type->enum_type_count(); ++e)
      CheckEnum(type->enum_type(e), undocumented);
  }

  pb::DescriptorPool pool_;
  std::vector<const pb::FileDescriptor*> files_;
};

TEST_F(ApiDocsTest, EveryElementOfTheApiHasItsOwnComment) {
  // Every .proto of the API folder is in the set (one missing from proto/CMakeLists.txt is not).
  size_t in_folder = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DD_API_PROTO_DIR))
    in_folder += entry.path().extension() == ".proto" ? 1 : 0;
  ASSERT_GE(in_folder, 6u);
  ASSERT_EQ(files_.size(), in_folder)
      << "a .proto of " << DD_API_PROTO_DIR << " is not compiled: list it in proto/CMakeLists.txt";
  std::vector<std::string> undocumented;
  int elements = 0;
  for (const pb::FileDescriptor* file : files_) {
    for (int s = 0; s < file->service_count(); ++s) {
      Check(file->service(s), undocumented);
      for (int m = 0; m < file->service(s)->method_count(); ++m)
        Check(file->service(s)->method(m), undocumented);
      elements += 1 + file->service(s)->method_count();
    }
    for (int t = 0; t < file->message_type_count(); ++t) {
      CheckMessage(file->message_type(t), undocumented);
      elements += 1 + file->message_type(t)->field_count();
    }
    for (int e = 0; e < file->enum_type_count(); ++e)
      CheckEnum(file->enum_type(e), undocumented);
  }
  EXPECT_GT(elements, 300);  // The walk saw the API, not an empty set.
  std::string list;
  for (const std::string& name : undocumented)
    list += "\n  " + name;
  EXPECT_TRUE(undocumented.empty()) << undocumented.size() << " without a comment:" << list;
}

}  // namespace
}  // namespace dd
