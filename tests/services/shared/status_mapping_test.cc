#include "services/shared/status_mapping.h"

#include <string>

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(StatusMappingTest, EveryCanonicalCodeKeepsItsCodeAndMessageBothWays) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status inner(static_cast<absl::StatusCode>(code), "what went wrong");
    const grpc::Status edge = ToGrpcStatus(inner);
    EXPECT_EQ(static_cast<int>(edge.error_code()), code);
    EXPECT_EQ(edge.error_message(), "what went wrong");
    EXPECT_EQ(FromGrpcStatus(edge), inner);
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusMappingTest, ACodeOutsideTheCanonicalOnesIsUnknown) {
  const grpc::Status edge = ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(42), "odd"));
  EXPECT_EQ(edge.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(edge.error_message(), "odd");
  // 20: grpc::StatusCode has no fixed underlying type, so a value beyond its bits (31) would be
  // undefined behaviour (UBSan says so).
  const absl::Status inner = FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(20), "odd"));
  EXPECT_EQ(inner.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(inner.message(), "odd");
}

TEST(StatusMappingTest, MessagesTooLongForAHeaderAreCut) {
  const std::string long_message = "track 0: " + std::string(20000, 'x');
  const grpc::Status edge = ToGrpcStatus(absl::NotFoundError(long_message));
  EXPECT_EQ(edge.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(edge.error_message().size(), 1100u);
  EXPECT_EQ(edge.error_message().rfind("track 0: xxx", 0), 0u);
  EXPECT_NE(edge.error_message().find("[cut from 20009 bytes]"), std::string::npos);
}

TEST(StatusMappingTest, AFailedCallNamesTheServiceAndKeepsItsCode) {
  const absl::Status failed =
      FromGrpcCall(grpc::Status(grpc::StatusCode::NOT_FOUND, "critic c1 does not exist"), "critic");
  EXPECT_EQ(failed, absl::NotFoundError("critic: critic c1 does not exist"));
  EXPECT_TRUE(FromGrpcCall(grpc::Status::OK, "critic").ok());
}

TEST(StatusMappingTest, HttpStatusesFollowGoogleApis) {
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::OK), 200);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::OUT_OF_RANGE), 400);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::ABORTED), 409);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::CANCELLED), 499);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::INTERNAL), 500);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::UNKNOWN), 500);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::DATA_LOSS), 500);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::DEADLINE_EXCEEDED), 504);
}

}  // namespace
}  // namespace dd
