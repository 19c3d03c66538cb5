#include "services/shared/flag_log.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, flag_log_test_database, "", "A connection string, for the test.");
ABSL_FLAG(int, flag_log_test_left_alone, 7, "A flag at its default, for the test.");

namespace dd {
namespace {

TEST(MaskPasswordsTest, MasksLibpqPasswordsAndThoseOfUris) {
  EXPECT_EQ(MaskPasswords("host=db password=secret dbname=dd"), "host=db password=*** dbname=dd");
  EXPECT_EQ(MaskPasswords("PASSWORD = 'a b\\'c' user=dd"), "PASSWORD = *** user=dd");
  EXPECT_EQ(MaskPasswords("password=x password=y"), "password=*** password=***");
  EXPECT_EQ(MaskPasswords("postgresql://dd:s3cr@t@db:5432/dd?sslmode=require"),
            "postgresql://dd:***@db:5432/dd?sslmode=require");
  // Values cut short mask what there is and read nothing beyond the end.
  EXPECT_EQ(MaskPasswords("password="), "password=***");
  EXPECT_EQ(MaskPasswords("password='unterminated"), "password=***");
  EXPECT_EQ(MaskPasswords("x password"), "x password");
  EXPECT_EQ(MaskPasswords("postgresql://"), "postgresql://");
  EXPECT_EQ(MaskPasswords("a://b:c"), "a://b:c");
  // Nothing secret: left as it is.
  for (const char* plain : {"postgresql://dd@db/dd", "dns:///dd-critic:50052", "127.0.0.1:50051",
                            "host=db passwordless=1", "/etc/deepdrummer/tls/tls.key", ""}) {
    EXPECT_EQ(MaskPasswords(plain), plain);
  }
}

TEST(ChangedFlagsJsonTest, ListsTheFlagsSetWithTheirPasswordsMasked) {
  const std::string before = ChangedFlagsJson();
  EXPECT_EQ(before.find("flag_log_test"), std::string::npos) << before;
  absl::SetFlag(&FLAGS_flag_log_test_database, "host=db password=secret");
  const std::string changed = ChangedFlagsJson();
  absl::SetFlag(&FLAGS_flag_log_test_database, "");
  EXPECT_NE(changed.find(R"("flag_log_test_database":"host=db password=***")"), std::string::npos)
      << changed;
  EXPECT_EQ(changed.find("secret"), std::string::npos) << changed;
  EXPECT_EQ(changed.find("flag_log_test_left_alone"), std::string::npos) << changed;
  EXPECT_EQ(changed.front(), '{');
  EXPECT_EQ(changed.back(), '}');
  EXPECT_EQ(ChangedFlagsJson(), before);
}

}  // namespace
}  // namespace dd
