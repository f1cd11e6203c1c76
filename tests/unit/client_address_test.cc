// client_address_test.cc: how an address names a client (IPv6 by its /64),
// and TRUSTED_PROXIES's CIDR parsing, table-driven.
#include "client_address.h"

#include <gtest/gtest.h>

namespace folio {
namespace {

TEST(ClientAddressKeyTest, NamesAClientByItsAddressOrItsSlash64) {
  struct Case {
    const char* addr;
    const char* key;
  };
  for (const Case& c : {Case{"203.0.113.7", "203.0.113.7"},
                        Case{"2001:db8:1:2::a", "2001:db8:1:2::/64"},
                        Case{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
                        Case{"2001:DB8:1:2::B", "2001:db8:1:2::/64"},
                        Case{"::1", "::/64"},
                        Case{"::ffff:203.0.113.7", "203.0.113.7"},
                        Case{"", ""},
                        Case{"not an address", "not an address"}}) {
    EXPECT_EQ(ClientAddressKey(c.addr), c.key) << c.addr;
  }
  EXPECT_NE(ClientAddressKey("2001:db8:1:2::a"), ClientAddressKey("2001:db8:1:3::a"));
}

TEST(ParseCidrTest, NormalisesWhatItAccepts) {
  struct Case {
    const char* text;
    const char* cidr;
  };
  for (const Case& c : {Case{"10.0.0.0/8", "10.0.0.0/8"}, Case{" 127.0.0.1 ", "127.0.0.1/32"},
                        Case{"0.0.0.0/0", "0.0.0.0/0"}, Case{"2001:DB8::/32", "2001:db8::/32"},
                        Case{"::1", "::1/128"}, Case{"fc00::/7", "fc00::/7"}}) {
    Result<std::string> got = ParseCidr(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
    EXPECT_EQ(*got, c.cidr) << c.text;
  }
}

TEST(ParseCidrTest, RefusesWhatWouldTrustTheWrongAddresses) {
  for (const char* text : {"10.0.0.1/8", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/8x", "10.0.0/8",
                           "example.com", "10.0.0.0/-1", "", "1.2.3.4/0999"}) {
    Result<std::string> got = ParseCidr(text);
    EXPECT_FALSE(got.ok()) << text;
    if (!got.ok()) {
      EXPECT_EQ(got.status().error(), "bad_cidr") << text;
    }
  }
}

TEST(ParseCidrListTest, SkipsEmptyEntriesAndStopsAtTheFirstBadOne) {
  Result<std::vector<std::string>> list = ParseCidrList(" 10.0.0.0/8, ,fd00::/8,");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  EXPECT_TRUE(ParseCidrList("")->empty());
  Result<std::vector<std::string>> bad = ParseCidrList("10.0.0.0/8, 192.168.1.1/16");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("192.168.1.1/16"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace folio
