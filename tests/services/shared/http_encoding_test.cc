// Taking Brotli out of Accept-Encoding, so that cpp-httplib compresses with gzip.
#include "services/shared/http_encoding.h"

#include <gtest/gtest.h>

namespace dd {
namespace {

TEST(WithoutBrotliTest, DropsEveryBrCodingAndKeepsTheRestAsSent) {
  EXPECT_EQ(WithoutBrotli("gzip, deflate, br"), "gzip, deflate");
  EXPECT_EQ(WithoutBrotli("br;q=1.0, gzip;q=0.8, *;q=0.1"), "gzip;q=0.8, *;q=0.1");
  EXPECT_EQ(WithoutBrotli(" BR , identity"), "identity");
  EXPECT_EQ(WithoutBrotli("br"), "");
  EXPECT_EQ(WithoutBrotli(""), "");
  // cpp-httplib looks for "br" anywhere, so a made-up coding holding it must go too.
  EXPECT_EQ(WithoutBrotli("x-brotli-ish, gzip"), "gzip");
}

}  // namespace
}  // namespace dd
