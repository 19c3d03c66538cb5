#include "services/shared/flag_checks.h"

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(FlagChecksTest, IntegersOutsideTheirRangeNameTheFlagAndTheRange) {
  EXPECT_TRUE(CheckIntFlag("threads", 0, 0, 4).ok());
  EXPECT_TRUE(CheckIntFlag("threads", 4, 0, 4).ok());
  const absl::Status low = CheckIntFlag("threads", -1, 0, 4);
  EXPECT_EQ(low.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(low.message(), "--threads must be in [0, 4], got -1");
  EXPECT_FALSE(CheckIntFlag("threads", 5, 0, 4).ok());
}

TEST(FlagChecksTest, DurationsAndTargets) {
  EXPECT_TRUE(CheckPositiveDurationFlag("call_timeout", absl::Milliseconds(1)).ok());
  EXPECT_TRUE(CheckPositiveDurationFlag("call_timeout", absl::InfiniteDuration()).ok());
  EXPECT_EQ(CheckPositiveDurationFlag("call_timeout", absl::ZeroDuration()).message(),
            "--call_timeout must be positive, got 0");
  EXPECT_FALSE(CheckPositiveDurationFlag("call_timeout", -absl::Seconds(1)).ok());
  EXPECT_TRUE(CheckNonNegativeDurationFlag("shutdown_grace", absl::ZeroDuration()).ok());
  EXPECT_EQ(CheckNonNegativeDurationFlag("shutdown_grace", -absl::Seconds(2)).message(),
            "--shutdown_grace must not be negative, got -2s");
  EXPECT_TRUE(CheckTargetFlag("critic", "127.0.0.1:50052").ok());
  const absl::Status empty = CheckTargetFlag("critic", "");
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.message().rfind("--critic must name the service", 0), 0u) << empty;
}

TEST(FlagChecksTest, FirstErrorIsTheFirstFailureInOrder) {
  EXPECT_TRUE(FirstError({}).ok());
  EXPECT_TRUE(FirstError({absl::OkStatus(), absl::OkStatus()}).ok());
  const absl::Status first =
      FirstError({absl::OkStatus(), CheckIntFlag("a", 9, 0, 1), CheckIntFlag("b", 9, 0, 1)});
  EXPECT_EQ(first.message(), "--a must be in [0, 1], got 9");
}

}  // namespace
}  // namespace dd
