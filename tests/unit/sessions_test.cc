// sessions_test.cc: what only the LMDB SessionStore does, on a real
// environment in a fresh temp dir with time injected as `now` — a full
// store, eviction, sweeping, listing, the recency index, a turn committed by
// a process SIGKILLed right after AppendTurn returns — and the id format and
// the record decoder against truncated and garbage input. The promises
// every session store keeps are session_backends_test.cc's.
#include "sessions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "child.h"
#include "clock.h"
#include "poll_until.h"
#include "temp_dir.h"

namespace folio {
namespace {

using test::Child;
using test::Pipe;
using test::TempDir;

constexpr int64_t kT0 = 1'700'000'000;
constexpr int64_t kTtl = 3600;

class SessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = dir_.path("env");
    options_.map_size_mb = 64;
    options_.databases = SessionDatabases();
    Result<std::unique_ptr<Store>> store = Store::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store.value());
    Result<SessionStore> sessions = SessionStore::Open(store_.get(), SessionOptions{.max_messages = 5, .ttl_s = kTtl});
    ASSERT_TRUE(sessions.ok()) << sessions.status().ToString();
    sessions_.emplace(std::move(sessions.value()));
  }
  std::string CreateAt(int64_t now) {
    Result<std::string> id = sessions_->Create(now);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  TempDir dir_{"folio-sessions-test"};
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  std::optional<SessionStore> sessions_;
};

TEST_F(SessionStoreTest, LastCommitStatusNamesAFullStoreUntilAWriteCommitsAgain) {
  // Without eviction the store stays full.
  Result<SessionStore> opened = SessionStore::Open(
      store_.get(), SessionOptions{.max_messages = 5, .max_record_bytes = 4 << 20, .ttl_s = kTtl, .evict_when_full = false});
  ASSERT_TRUE(opened.ok());
  SessionStore& sessions = *opened;
  EXPECT_TRUE(sessions.LastCommitStatus().ok());
  const std::string big(kMaxMessageBytes - 1, 'x');
  std::vector<std::string> stored;
  Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) {  // 64 MB: about 60 turns of 1 MB
    Result<std::string> id = NewSessionId();
    ASSERT_TRUE(id.ok());
    s = sessions.StartWithTurn(*id, big, "a", kT0);
    if (s.ok()) stored.push_back(*id);
  }
  ASSERT_EQ(s.error(), "store_full") << s.ToString();
  EXPECT_EQ(sessions.LastCommitStatus().error(), "store_full");
  ASSERT_TRUE(sessions.Delete(stored.front(), kT0).ok());  // any committed write, from any process
  EXPECT_TRUE(sessions.LastCommitStatus().ok());
}

// One client writing sessions flat out into a full store: every turn is
// saved, the least recently used sessions make room, and a conversation in
// use is kept.
// A store of 16 MB (the smallest the config allows is 8), filled fast.
class SmallSessionStoreTest : public SessionStoreTest {
 protected:
  void SetUp() override {
    options_.path = dir_.path("small");
    options_.map_size_mb = 16;
    options_.databases = SessionDatabases();
    Result<std::unique_ptr<Store>> store = Store::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store.value());
    Result<SessionStore> sessions = SessionStore::Open(store_.get(), SessionOptions{.max_messages = 5, .ttl_s = kTtl});
    ASSERT_TRUE(sessions.ok());
    sessions_.emplace(std::move(sessions.value()));
  }
};

TEST_F(SmallSessionStoreTest, AFullStoreEvictsTheLeastRecentlyUsedInsteadOfRefusing) {
  Result<SessionStore> opened =
      SessionStore::Open(store_.get(), SessionOptions{.max_messages = 100, .max_record_bytes = 64 << 10, .ttl_s = kTtl});
  ASSERT_TRUE(opened.ok());
  SessionStore& sessions = *opened;
  Result<std::string> kept = NewSessionId();
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(sessions.StartWithTurn(*kept, "my question", "my answer", kT0).ok());
  const std::string filler(30000, 'f');  // ≈ 60 KB a session: 16 MB hold about 250
  std::vector<std::string> ids;
  for (int i = 0; i < 800; ++i) {
    Result<std::string> id = NewSessionId();
    ASSERT_TRUE(id.ok());
    const int64_t now = kT0 + 1 + i;
    Status s = sessions.StartWithTurn(*id, filler, filler, now);
    ASSERT_TRUE(s.ok()) << "turn " << i << ": " << s.ToString();
    ids.push_back(*id);
    if (i % 50 == 0) ASSERT_TRUE(sessions.AppendTurn(*kept, "still here", "yes", now).ok()) << i;
  }
  EXPECT_GT(sessions.evicted(), 400u);
  EXPECT_TRUE(sessions.Get(*kept, kT0 + 801).ok()) << "a conversation in use was evicted";
  EXPECT_TRUE(sessions.Get(ids.back(), kT0 + 801).ok());
  EXPECT_EQ(sessions.Get(ids.front(), kT0 + 801).status().error(), "session_not_found");
  EXPECT_EQ(*sessions.Count() + sessions.evicted(), ids.size() + 1);
}

TEST_F(SmallSessionStoreTest, EvictIfNearFullDoesNothingWithRoomAndMakesRoomNearTheReserve) {
  EXPECT_EQ(*sessions_->EvictIfNearFull(), 0);
  const std::string filler(30000, 'f');
  // Fill to just below the reserve without any eviction.
  Result<SessionStore> no_evict = SessionStore::Open(
      store_.get(), SessionOptions{.max_messages = 5, .max_record_bytes = 64 << 10, .ttl_s = kTtl, .evict_when_full = false});
  ASSERT_TRUE(no_evict.ok());
  for (int i = 0; i < 1000; ++i) {
    Result<std::string> id = NewSessionId();
    ASSERT_TRUE(id.ok());
    if (!no_evict->StartWithTurn(*id, filler, filler, kT0 + i).ok()) break;
  }
  ASSERT_FALSE(*store_->HasRoom());
  Result<int> evicted = sessions_->EvictIfNearFull();
  ASSERT_TRUE(evicted.ok()) << evicted.status().ToString();
  EXPECT_GT(*evicted, 0);
  EXPECT_TRUE(*store_->HasFreePages(3 * store_->reserve_pages()));
}

TEST_F(SessionStoreTest, SweepDeletesOnlyExpiredSessions) {
  std::set<std::string> old_ids, fresh_ids;
  for (int i = 0; i < 30; ++i) old_ids.insert(CreateAt(kT0));
  for (int i = 0; i < 20; ++i) fresh_ids.insert(CreateAt(kT0 + 100));
  const int64_t now = kT0 + kTtl + 50;  // old ones expired, fresh ones not
  Result<int> swept = sessions_->SweepExpired(now);
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  EXPECT_EQ(*swept, 30);
  EXPECT_EQ(*sessions_->Count(), 20u);
  for (const std::string& id : fresh_ids) EXPECT_TRUE(sessions_->Get(id, now).ok()) << id;
  EXPECT_EQ(*sessions_->SweepExpired(now), 0);
}

// Records written before the recency index existed (raw here): the index
// is built when the store is opened, and the sweep then finds them, over
// many batches of 500.
TEST_F(SessionStoreTest, RecordsFromBeforeTheRecencyIndexAreIndexedAtOpenAndSwept) {
  Status s = store_->Write(
      [&](WriteTxn& txn) -> Status {
        Db db = *store_->Database(kSessionsDb);
        Session old_session{"", kT0, kT0, kT0 * 1000, {}};
        Session fresh{"", kT0, kT0 + kTtl, (kT0 + kTtl) * 1000, {}};
        for (int i = 0; i < 6000; ++i) {
          Result<std::string> id = NewSessionId();
          if (!id.ok()) return id.status();
          if (Status p = txn.Put(db, *id, EncodeSession(i % 3 == 0 ? fresh : old_session)); !p.ok()) return p;
        }
        return Status::Ok();
      },
      Durability::kRelaxed);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*sessions_->SweepExpired(kT0 + kTtl + 1), 0) << "no index entry yet";
  Result<SessionStore> reopened = SessionStore::Open(store_.get(), SessionOptions{.max_messages = 5, .ttl_s = kTtl});
  ASSERT_TRUE(reopened.ok());
  Result<int> swept = reopened->SweepExpired(kT0 + kTtl + 1);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 4000);
  EXPECT_EQ(*reopened->Count(), 2000u);
  EXPECT_EQ(store_->Stat(*store_->Database(kSessionsLruDb))->entries, 2000u) << "one index entry a record";
}

TEST_F(SessionStoreTest, ListPagesThroughUnexpiredSessionsInKeyOrder) {
  std::set<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.insert(CreateAt(kT0 + 10));
  CreateAt(kT0 - kTtl);  // expired: never listed
  std::vector<std::string> listed;
  std::string after;
  for (;;) {
    Result<std::vector<SessionSummary>> page = sessions_->List(3, after, kT0 + 10);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const SessionSummary& s : *page) listed.push_back(s.id);
    after = page->back().id;
  }
  std::vector<std::string> in_key_order(ids.begin(), ids.end());
  std::sort(in_key_order.begin(), in_key_order.end(),
            [](const std::string& a, const std::string& b) { return SessionKey(a) < SessionKey(b); });
  EXPECT_EQ(listed, in_key_order);
}

TEST_F(SessionStoreTest, CorruptRecordIsAnErrorNotACrash) {
  std::string id = CreateAt(kT0);
  Db db = *store_->Database(kSessionsDb);
  ASSERT_TRUE(store_->Put(db, SessionKey(id), "\x01garbage", Durability::kSynced).ok());
  Result<Session> s = sessions_->Get(id, kT0);
  EXPECT_EQ(s.status().error(), "corrupt_record");
  EXPECT_EQ(sessions_->AppendTurn(id, "u", "a", kT0).error(), "corrupt_record");
  EXPECT_TRUE(sessions_->Delete(id, kT0).ok());
}

// A committed turn is in the page cache and the file: the writer's death after
// AppendTurn returned cannot take it back.
TEST_F(SessionStoreTest, TurnAppendedByAKilledProcessSurvives) {
  std::string id = CreateAt(kT0);
  Pipe appended;
  Child child([&] {
    Result<std::unique_ptr<Store>> own = Store::Open(options_);
    if (!own.ok()) return 2;
    Result<SessionStore> sessions = SessionStore::Open(own->get());
    if (!sessions.ok() || !sessions->AppendTurn(id, "from child", "reply", kT0 + 1).ok()) return 3;
    appended.Signal();
    pause();
    return 0;
  });
  const bool signalled = appended.Wait() == '!';
  child.Kill();
  ASSERT_TRUE(signalled);
  Result<Session> s = sessions_->Get(id, kT0 + 2);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->messages.size(), 2u);
  EXPECT_EQ(s->messages[0].content, "from child");
}

TEST(SessionIdTest, NewIdsAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    Result<std::string> id = NewSessionId();
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->size(), 22u);
    EXPECT_TRUE(IsValidSessionId(*id)) << *id;
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

// The 16 bytes an id spells (base64url, the last character's 4 spare bits zero).
std::vector<unsigned char> IdBytes(const std::string& id) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::vector<unsigned char> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : id) {
    acc = (acc << 6) | static_cast<uint32_t>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>(acc >> bits));
    }
  }
  return out;
}

TEST(SessionIdTest, EndsInItsCreationTimeAfter80RandomBits) {
  const int64_t before = UnixMs();
  Result<std::string> a = NewSessionId();
  Result<std::string> b = NewSessionId();
  const int64_t after = UnixMs();
  ASSERT_TRUE(a.ok() && b.ok());
  for (const std::string& id : {*a, *b}) {
    std::vector<unsigned char> bytes = IdBytes(id);
    ASSERT_EQ(bytes.size(), 16u) << id;
    int64_t ms = 0;
    for (size_t i = 10; i < 16; ++i) ms = (ms << 8) | bytes[i];
    EXPECT_GE(ms, before) << id;
    EXPECT_LE(ms, after) << id;
  }
  // Made in the same millisecond or not, the random part tells them apart.
  std::vector<unsigned char> random_a = IdBytes(*a), random_b = IdBytes(*b);
  random_a.resize(10), random_b.resize(10);
  EXPECT_NE(random_a, random_b);
}

TEST(SessionIdTest, KeysLeadWithTheTimeAndMapBackToTheId) {
  Result<std::string> id = NewSessionId();
  ASSERT_TRUE(id.ok());
  const std::string key = SessionKey(*id);
  EXPECT_EQ(key.size(), 22u);
  EXPECT_EQ(key.substr(0, 8), id->substr(14));
  EXPECT_EQ(IdOfSessionKey(key), *id);
  // An id made before the time suffix existed maps the same way.
  EXPECT_EQ(IdOfSessionKey(SessionKey("abcdefghijklmnopqrs-_Q")), "abcdefghijklmnopqrs-_Q");
  // Sessions made together share the leading characters of their keys: made
  // a millisecond apart, they differ at most from the 6th (the 5 before
  // change every 16 s, so two ids rarely straddle that; one retry makes it
  // certain). The second id is the first one made in a later millisecond
  // (its key's 8-character time prefix differs).
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<std::string> first = NewSessionId(), second = first;
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(test::PollUntil([&] {
      second = NewSessionId();
      return second.ok() && SessionKey(*second).substr(0, 8) != SessionKey(*first).substr(0, 8);
    }, std::chrono::seconds(1), std::chrono::milliseconds(0)));
    if (SessionKey(*first).substr(0, 5) == SessionKey(*second).substr(0, 5)) return;
  }
  ADD_FAILURE() << "keys of ids made 1 ms apart differ in their first 5 characters, twice";
}

TEST(SessionIdTest, ValidityIsExactlyTheGeneratedFormat) {
  struct Case {
    const char* id;
    bool valid;
    const char* why;
  };
  const Case cases[] = {
      {"AAAAAAAAAAAAAAAAAAAAAA", true, "all zero bits"},
      {"abcdefghijklmnopqrs-_Q", true, "every class of character, last carries 2 bits"},
      {"0123456789abcdefghijkw", true, "last char w = 110000"},
      {"AAAAAAAAAAAAAAAAAAAAA", false, "too short (21)"},
      {"AAAAAAAAAAAAAAAAAAAAAAA", false, "too long (23)"},
      {"", false, "empty"},
      {"AAAAAAAAAAAAAAAAAAAA==", false, "padding"},
      {"AAAAAAAAAAAAAAAAAAAA+A", false, "standard base64 +"},
      {"AAAAAAAAAAAAAAAAAAAA/A", false, "standard base64 /"},
      {"AAAAAAAAAAAAAAAAAAAA A", false, "space"},
      {"AAAAAAAAAAAAAAAAAAAAAB", false, "last char has bits beyond 128"},
      {"AAAAAAAAAAAAAAAAAAAA.A", false, "dot"},
  };
  for (const Case& c : cases) EXPECT_EQ(IsValidSessionId(c.id), c.valid) << c.id << " (" << c.why << ")";
  EXPECT_FALSE(IsValidSessionId(std::string_view("AAAAAAAAAAAAAAAAAAAA\0A", 22))) << "NUL byte";
}

TEST(SessionRecordTest, EncodeDecodeRoundTrips) {
  Session s{"ignored", kT0, kT0 + 9, (kT0 + 9) * 1000 + 5, {{Role::kUser, "q", kT0 + 1}, {Role::kAssistant, std::string("\0bin\xff", 5), kT0 + 2}}};
  Result<Session> back = DecodeSession(EncodeSession(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, "");
  EXPECT_EQ(back->created, s.created);
  EXPECT_EQ(back->updated, s.updated);
  EXPECT_EQ(back->updated_ms, s.updated_ms);
  ASSERT_EQ(back->messages.size(), 2u);
  EXPECT_EQ(back->messages[1].content, s.messages[1].content);
  EXPECT_EQ(back->messages[1].role, Role::kAssistant);
  EXPECT_EQ(back->messages[0].ts, kT0 + 1);
}

// A record of format 1, as folio wrote it before format 2 added updated_ms:
// it must decode forever.
TEST(SessionRecordTest, FormatOneRecordsStillDecode) {
  const std::string v1(
      "\x01"                                  // version 1
      "\x00\xf1\x53\x65\x00\x00\x00\x00"  // created 1700000000
      "\x09\xf1\x53\x65\x00\x00\x00\x00"  // updated 1700000009
      "\x01\x00\x00\x00"                      // one message
      "\x01"                                  // user
      "\x01\xf1\x53\x65\x00\x00\x00\x00"  // ts 1700000001
      "\x02\x00\x00\x00"
      "hi",
      1 + 8 + 8 + 4 + 1 + 8 + 4 + 2);
  Result<Session> s = DecodeSession(v1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->created, kT0);
  EXPECT_EQ(s->updated, kT0 + 9);
  EXPECT_EQ(s->updated_ms, (kT0 + 9) * 1000);
  ASSERT_EQ(s->messages.size(), 1u);
  EXPECT_EQ(s->messages[0].content, "hi");
  EXPECT_EQ(s->messages[0].ts, kT0 + 1);
  std::optional<RecordTimes> times = PeekTimes(v1);
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->updated_ms, (kT0 + 9) * 1000);
  EXPECT_EQ(EncodeSession(*s)[0], 2) << "rewritten in the current format";
}

TEST(SessionRecordTest, EveryTruncationIsCorrupt) {
  Session s{"", kT0, kT0, kT0 * 1000, {{Role::kUser, "question", kT0}, {Role::kAssistant, "answer", kT0}}};
  const std::string bytes = EncodeSession(s);
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<Session> r = DecodeSession(std::string_view(bytes).substr(0, n));
    EXPECT_EQ(r.status().error(), "corrupt_record") << "prefix of " << n << " bytes";
  }
  EXPECT_EQ(DecodeSession(bytes + "x").status().error(), "corrupt_record") << "trailing byte";
}

TEST(SessionRecordTest, HostileFieldsAreCorrupt) {
  Session s{"", kT0, kT0, kT0 * 1000, {{Role::kUser, "q", kT0}}};
  std::string bytes = EncodeSession(s);
  std::string bad_version = bytes;
  bad_version[0] = 9;
  EXPECT_EQ(DecodeSession(bad_version).status().error(), "corrupt_record");
  std::string huge_count = bytes;
  huge_count.replace(25, 4, "\xff\xff\xff\xff");
  EXPECT_EQ(DecodeSession(huge_count).status().error(), "corrupt_record");
  std::string bad_role = bytes;
  bad_role[29] = 7;
  EXPECT_EQ(DecodeSession(bad_role).status().error(), "corrupt_record");
  std::string huge_length = bytes;
  huge_length.replace(38, 4, "\xff\xff\xff\x7f");
  EXPECT_EQ(DecodeSession(huge_length).status().error(), "corrupt_record");
}

TEST(SessionRecordTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(42);
  Session s{"", kT0, kT0, kT0 * 1000, {{Role::kUser, "q", kT0}, {Role::kAssistant, "a", kT0}}};
  const std::string valid = EncodeSession(s);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      bytes = valid;  // a valid record with a few bytes flipped
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    Result<Session> r = DecodeSession(bytes);
    if (r.ok() && bytes[0] == valid[0]) {
      EXPECT_EQ(EncodeSession(*r), bytes);  // whatever decodes re-encodes to the same bytes
    } else if (r.ok()) {
      EXPECT_EQ(bytes[0], 1) << "only the older format decodes to other bytes";
    } else {
      EXPECT_EQ(r.status().error(), "corrupt_record");
    }
  }
}

}  // namespace
}  // namespace folio
