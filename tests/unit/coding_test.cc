// coding_test.cc: base/coding.h — little-endian layout whatever the host,
// round trips at the limits, and a reader that never reads past its input.
#include "coding.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

namespace folio {
namespace {

TEST(CodingTest, IntegersAreLittleEndian) {
  std::string out;
  PutU32(&out, 0x01020304u);
  PutU64(&out, 0x0102030405060708ull);
  EXPECT_EQ(out, std::string("\x04\x03\x02\x01\x08\x07\x06\x05\x04\x03\x02\x01", 12));
}

TEST(CodingTest, RoundTripsAtTheLimits) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x80}, std::numeric_limits<uint64_t>::max()}) {
    std::string out;
    PutU64(&out, v);
    EXPECT_EQ(DecodeU64(out.data()), v);
  }
  for (uint32_t v : {0u, 0xFFu, 0x80000000u, std::numeric_limits<uint32_t>::max()}) {
    std::string out;
    PutU32(&out, v);
    EXPECT_EQ(DecodeU32(out.data()), v);
  }
}

TEST(CodingTest, ReaderReadsFieldsInOrderAndNegativeI64) {
  std::string bytes("\x07", 1);
  PutU32(&bytes, 5);
  PutU64(&bytes, static_cast<uint64_t>(int64_t{-42}));
  bytes += "hello";
  ByteReader r(bytes);
  uint8_t a = 0;
  uint32_t n = 0;
  int64_t i = 0;
  std::string s;
  ASSERT_TRUE(r.U8(&a) && r.U32(&n) && r.I64(&i) && r.Bytes(n, &s));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(i, -42);
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(CodingTest, ReaderRefusesShortInputAndConsumesNothing) {
  const std::string bytes("\x01\x02\x03", 3);
  ByteReader r(bytes);
  uint32_t v = 0;
  std::string_view view;
  EXPECT_FALSE(r.U32(&v));
  EXPECT_FALSE(r.View(4, &view));
  EXPECT_EQ(r.remaining(), 3u);
  EXPECT_TRUE(r.View(3, &view));
  EXPECT_EQ(view, bytes);
}

TEST(CodingTest, LoadUnalignedReadsAtAnyOffset) {
  char buffer[16] = {};
  const double d = 3.25;
  std::memcpy(buffer + 3, &d, sizeof d);
  EXPECT_EQ(LoadUnaligned<double>(buffer + 3), 3.25);
}

}  // namespace
}  // namespace folio
