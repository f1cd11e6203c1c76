// api_keys_test.cc: API_KEYS_FILE — the format (table-driven), SHA-256 and
// the file line `--hash-key` prints, matching against every entry whatever
// its position, reloading on change and failing closed on a bad file.
#include "api_keys.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "poll_until.h"
#include "temp_dir.h"

namespace folio {
namespace {

using std::chrono::milliseconds;

constexpr char kKeyA[] = "key-a-0123456789abcdef";
constexpr char kKeyB[] = "key-b-0123456789abcdef";
constexpr char kKeyOps[] = "key-ops-0123456789abcdef";

std::string Hex(const std::string& key) { return HexOf(Sha256(key)); }

TEST(Sha256Test, KnownVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(HexOf(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexOf(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexOf(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, HexRoundTripsInEitherCase) {
  Sha256Digest d = Sha256("abc"), parsed{};
  ASSERT_TRUE(ParseSha256Hex(HexOf(d), &parsed));
  EXPECT_TRUE(ConstantTimeEqual(d, parsed));
  std::string upper = HexOf(d);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(ParseSha256Hex(upper, &parsed));
  EXPECT_TRUE(ConstantTimeEqual(d, parsed));
  EXPECT_FALSE(ParseSha256Hex(HexOf(d).substr(1), &parsed));
  EXPECT_FALSE(ParseSha256Hex(HexOf(d).substr(1) + "g", &parsed));
  EXPECT_FALSE(ConstantTimeEqual(Sha256("abc"), Sha256("abd")));
}

TEST(ApiKeyFileLineTest, IsTheDigestOfTheKeyAndParsesBack) {
  EXPECT_EQ(ApiKeyFileLine(kKeyA), "sha256:" + Hex(kKeyA));
  EXPECT_EQ(ApiKeyFileLine(kKeyOps, KeyRole::kOperator), "sha256:" + Hex(kKeyOps) + " operator");
  Result<std::vector<ApiKeyEntry>> parsed = ParseApiKeys(ApiKeyFileLine(kKeyOps, KeyRole::kOperator) + "\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_TRUE(ConstantTimeEqual((*parsed)[0].digest, Sha256(kKeyOps)));
  EXPECT_EQ((*parsed)[0].role, KeyRole::kOperator);
  // Neither the line nor the identity ever holds the key.
  EXPECT_EQ(ApiKeyFileLine(kKeyA).find(kKeyA), std::string::npos);
}

TEST(KeyIdentityTest, TagAndClientIdArePrefixesOfTheDigest) {
  KeyIdentity id = IdentityOf(Sha256(kKeyA));
  EXPECT_EQ(id.tag, Hex(kKeyA).substr(0, 4));
  EXPECT_EQ(id.client_id, "key:" + Hex(kKeyA).substr(0, 16));
}

struct ParseCase {
  const char* name;
  std::string text;
  bool ok;
  size_t entries;                // when ok
  const char* message_contains;  // when not ok
};

class ParseApiKeysTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseApiKeysTest, Parses) {
  const ParseCase& c = GetParam();
  Result<std::vector<ApiKeyEntry>> r = ParseApiKeys(c.text);
  ASSERT_EQ(r.ok(), c.ok) << c.name << ": " << (r.ok() ? "ok" : r.status().message());
  if (c.ok) {
    EXPECT_EQ(r->size(), c.entries) << c.name;
  } else {
    EXPECT_NE(r.status().message().find(c.message_contains), std::string::npos) << c.name << ": " << r.status().message();
    // A pasted key is never echoed back (it would end up in a log).
    EXPECT_EQ(r.status().message().find("pasted-plain-key"), std::string::npos) << c.name;
  }
}

const std::string kA = "sha256:" + HexOf(Sha256(kKeyA));
const std::string kB = "sha256:" + HexOf(Sha256(kKeyB));

INSTANTIATE_TEST_SUITE_P(
    Table, ParseApiKeysTest,
    ::testing::Values(
        ParseCase{"one", kA + "\n", true, 1, ""},
        ParseCase{"no final newline", kA, true, 1, ""},
        ParseCase{"comments blanks crlf roles", "# keys\n\n" + kA + " operator # ops\r\n  " + kB + "\tclient\n", true, 2, ""},
        ParseCase{"uppercase hex", "sha256:" + std::string(64, 'A') + "\n", true, 1, ""},
        ParseCase{"empty file", "", false, 0, "no key"},
        ParseCase{"only comments", "# nothing yet\n\n", false, 0, "no key"},
        ParseCase{"plain key", "pasted-plain-key-123456\n", false, 0, "line 1: want"},
        ParseCase{"short digest", "sha256:abcd\n", false, 0, "line 1: the digest"},
        ParseCase{"bad hex", "sha256:" + std::string(63, 'a') + "z\n", false, 0, "64 hex digits"},
        ParseCase{"other algorithm", "md5:" + std::string(32, 'a') + "\n", false, 0, "line 1: want"},
        ParseCase{"unknown role", kA + " admin\n", false, 0, "\"operator\" or \"client\""},
        ParseCase{"trailing words", kA + " operator pasted-plain-key\n", false, 0, "unexpected text"},
        ParseCase{"duplicate", kA + "\n# x\n" + kA + " operator\n", false, 0, "line 3: the same key as line 1"},
        ParseCase{"error names its line", kA + "\n\n" + "pasted-plain-key\n", false, 0, "line 3:"}),
    [](const ::testing::TestParamInfo<ParseCase>& info) {
      std::string n = info.param.name;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

class ApiKeysFileTest : public ::testing::Test {
 protected:
  // Replaces the file atomically (a new inode), as the docs ask operators to.
  void Write(const std::string& text) {
    std::string tmp = path_ + ".tmp";
    std::ofstream(tmp, std::ios::trunc) << text;
    std::filesystem::rename(tmp, path_);
  }
  KeyCheck Check(ApiKeys& keys, const std::string& key) { return keys.Check(Sha256(key)); }

  const test::TempDir dir_{"folio-keys"};
  const std::string path_ = dir_.path("keys.txt");
};

TEST_F(ApiKeysFileTest, MatchesEveryListedKeyWhateverItsPosition) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += ApiKeyFileLine("filler-key-" + std::to_string(i) + "-0123456789") + "\n";
  text += ApiKeyFileLine(kKeyA) + "\n" + ApiKeyFileLine(kKeyOps, KeyRole::kOperator) + "\n";
  Write(text);
  auto keys = ApiKeys::Open(path_);
  ASSERT_TRUE(keys->status().ok()) << keys->status().ToString();
  EXPECT_EQ(keys->size(), 52u);
  EXPECT_EQ(keys->operator_count(), 1u);
  KeyCheck a = Check(*keys, kKeyA), ops = Check(*keys, kKeyOps), first = Check(*keys, "filler-key-0-0123456789");
  EXPECT_TRUE(a.valid);
  EXPECT_EQ(a.role, KeyRole::kClient);
  EXPECT_TRUE(ops.valid);
  EXPECT_EQ(ops.role, KeyRole::kOperator);
  EXPECT_TRUE(first.valid);
  EXPECT_FALSE(Check(*keys, kKeyB).valid);
  EXPECT_FALSE(Check(*keys, "").valid);
  EXPECT_FALSE(Check(*keys, std::string(kKeyA) + " ").valid) << "exact keys only";
}

TEST_F(ApiKeysFileTest, MissingOrInvalidFileMatchesNothing) {
  auto missing = ApiKeys::Open(path_);
  EXPECT_FALSE(missing->status().ok());
  EXPECT_NE(missing->status().message().find(path_), std::string::npos);
  EXPECT_FALSE(Check(*missing, kKeyA).valid);

  Write(ApiKeyFileLine(kKeyA) + "\n" + kKeyB + "\n");  // a plain key by mistake
  auto invalid = ApiKeys::Open(path_);
  EXPECT_FALSE(invalid->status().ok());
  EXPECT_NE(invalid->status().message().find("line 2"), std::string::npos) << invalid->status().message();
  EXPECT_EQ(invalid->status().message().find(kKeyB), std::string::npos) << "never echoes a key";
  EXPECT_FALSE(Check(*invalid, kKeyA).valid) << "a half-valid file admits nobody";
}

TEST_F(ApiKeysFileTest, RewrittenFileIsReloadedAfterTheRecheckInterval) {
  Write(ApiKeyFileLine(kKeyA) + "\n");
  auto keys = ApiKeys::Open(path_, milliseconds(50));
  ASSERT_TRUE(Check(*keys, kKeyA).valid);
  Write(ApiKeyFileLine(kKeyB) + "\n");  // rotate: B in, A out
  test::PollUntil([&] { return !Check(*keys, kKeyA).valid; }, std::chrono::seconds(5), milliseconds(10));
  EXPECT_FALSE(Check(*keys, kKeyA).valid);
  EXPECT_TRUE(Check(*keys, kKeyB).valid);
}

TEST_F(ApiKeysFileTest, InPlaceRewriteOfTheSameSizeIsNoticed) {
  // Same inode, same size: only the mtime (nanoseconds) differs, set
  // rather than waited for (the file system's clock ticks coarsely).
  std::ofstream(path_, std::ios::trunc) << ApiKeyFileLine(kKeyA) << "\n";
  auto keys = ApiKeys::Open(path_, milliseconds(0));
  ASSERT_TRUE(Check(*keys, kKeyA).valid);
  struct stat before {};
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  std::ofstream(path_, std::ios::trunc) << ApiKeyFileLine(kKeyB) << "\n";
  timespec times[2] = {before.st_atim, before.st_mtim};
  times[1].tv_nsec = (times[1].tv_nsec + 1) % 1000000000;
  ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  EXPECT_TRUE(Check(*keys, kKeyB).valid);
  EXPECT_FALSE(Check(*keys, kKeyA).valid);
}

TEST_F(ApiKeysFileTest, SameSizeRewriteWithinOneTimestampTickIsNoticed) {
  // A key swapped in place for one of the same length, caught by a check
  // in the same tick of the file system's clock: size, inode and mtime all
  // look as before (the mtime is put back to show it).
  std::ofstream(path_, std::ios::trunc) << ApiKeyFileLine(kKeyA) << "\n";
  auto keys = ApiKeys::Open(path_, milliseconds(0));
  ASSERT_TRUE(Check(*keys, kKeyA).valid);
  struct stat before {};
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  {
    std::fstream f(path_, std::ios::in | std::ios::out);  // no truncation: the same inode and size
    f << ApiKeyFileLine(kKeyB) << "\n";
  }
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  EXPECT_FALSE(Check(*keys, kKeyA).valid) << "the revoked key is still accepted";
  EXPECT_TRUE(Check(*keys, kKeyB).valid);
}

TEST_F(ApiKeysFileTest, BrokenRotationFailsClosedUntilFixed) {
  Write(ApiKeyFileLine(kKeyA) + "\n");
  auto keys = ApiKeys::Open(path_, milliseconds(0));
  ASSERT_TRUE(Check(*keys, kKeyA).valid);
  Write("sha256:not-hex\n");
  EXPECT_FALSE(Check(*keys, kKeyA).valid) << "a revoked key must not survive a typo";
  EXPECT_FALSE(keys->status().ok());
  std::filesystem::remove(path_);
  EXPECT_FALSE(Check(*keys, kKeyA).valid);
  Write(ApiKeyFileLine(kKeyA) + "\n");
  EXPECT_TRUE(Check(*keys, kKeyA).valid);
  EXPECT_TRUE(keys->status().ok());
}

TEST_F(ApiKeysFileTest, UnchangedFileIsNotReread) {
  Write(ApiKeyFileLine(kKeyA) + "\n");
  auto keys = ApiKeys::Open(path_, std::chrono::hours(1));
  ASSERT_TRUE(Check(*keys, kKeyA).valid);
  Write(ApiKeyFileLine(kKeyB) + "\n");
  // Within the recheck interval nothing is looked at, not even stat().
  EXPECT_TRUE(Check(*keys, kKeyA).valid);
  EXPECT_FALSE(Check(*keys, kKeyB).valid);
}

TEST_F(ApiKeysFileTest, ChecksFromManyThreadsWhileRotating) {
  Write(ApiKeyFileLine(kKeyA) + "\n" + ApiKeyFileLine(kKeyB) + "\n");
  auto keys = ApiKeys::Open(path_, milliseconds(0));
  std::atomic<bool> stop{false};
  std::atomic<int> a_refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      while (!stop.load())
        if (!Check(*keys, kKeyA).valid) ++a_refused;
    });
  for (int i = 0; i < 50; ++i) Write(ApiKeyFileLine(kKeyA) + "\n" + (i % 2 ? ApiKeyFileLine(kKeyB) + "\n" : ""));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(a_refused.load(), 0) << "an atomic rename never leaves a moment without the key";
}

}  // namespace
}  // namespace folio
