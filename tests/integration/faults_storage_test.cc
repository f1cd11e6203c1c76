// faults_storage_test.cc: storage failing under a running stack. In each case the worker reports the problem (/api/health's
// "storage" or "index" check, /ready), keeps serving what it safely can,
// never crashes (worker pids unchanged), and recovers by itself once the
// cause is removed:
//  - the sessions LMDB map full (LMDB_MAP_MB=8, 400 KB answers): the least
//    recently used sessions are evicted and every turn is still saved;
//  - the data directory's disk full (a 16 MB tmpfs filled up; needs root to
//    mount, skipped otherwise): the same, until the space comes back;
//  - the data directory read-only at start (the same tmpfs, remounted): not
//    ready with the cause; workers leave after STATE_RETRY_S for fresh ones,
//    and the first after it is writable again is ready;
//  - index files truncated, replaced by garbage, or overwritten in place
//    under searches and chats: an intact mapping keeps serving; a mapping
//    whose file changed under it is taken out of service (503, not ready)
//    without a crash; re-running folio-ingest brings the index back; a
//    worker started on a damaged index (a restart after the damage) does
//    not put it in service either.
// The response cache's own full-map handling (it disables itself) cannot be
// reached through the stack: the worker sizes its map at 3 × CACHE_MAX_MB
// (≥ 64 MB), so LRU eviction always runs first; the storage check reports a
// disabled cache, and response_cache_test.cc covers the full map.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "chat_load.h"
#include "mock_llm.h"
#include "stack.h"

namespace folio::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

nlohmann::json Health(const TestStack& stack) { return stack.Get("/api/health").Json(); }

// With the vectors and their HNSW graph (which the default hash embedder
// does not need): the graph's level-0 links are what hnswlib follows
// unchecked, the most dangerous file to damage.
int Ingest(const std::string& out) {
  std::string log;
  int rc = RunCommand(FOLIO_BINARY_DIR "/bin/folio-ingest --vectors always --kb " FOLIO_SOURCE_DIR "/kb --out " + out, &log);
  EXPECT_EQ(rc, 0) << log;
  return rc;
}

bool Contains(const nlohmann::json& j, const std::string& needle) {
  return j.is_string() && j.get<std::string>().find(needle) != std::string::npos;
}

// Chats still answered while turns cannot be saved; returns the outcomes.
std::vector<Outcome> ChatsWhileUnsaved(const TestStack& stack) {
  std::vector<Outcome> out;
  for (Kind kind : {Kind::kChat, Kind::kStream}) {
    Outcome o = Send(stack.port(), kind, std::string("unsaved ") + KindName(kind) + " about Tollgate?");
    EXPECT_TRUE(o.Answered()) << o.Describe();
    EXPECT_EQ(stack.Get("/api/sessions/" + o.AnsweredSession()).status, 404) << "a turn was saved after all";
    out.push_back(std::move(o));
  }
  EXPECT_EQ(stack.Post("/api/search", SearchBody("Tollgate")).status, 200);
  EXPECT_EQ(stack.Get("/ready").status, 200) << "answers still go out: the worker stays ready";
  return out;
}

// Health once a saved turn proves the store works again.
void ExpectSavedAgain(const TestStack& stack) {
  Outcome o = Send(stack.port(), Kind::kChat, "saved again?");
  ASSERT_TRUE(o.Answered()) << o.Describe();
  EXPECT_EQ(stack.Get("/api/sessions/" + o.AnsweredSession()).status, 200);
  nlohmann::json storage = Health(stack)["checks"]["storage"];
  EXPECT_EQ(storage["status"], "ok") << storage.dump();
}

// The session store's map full: the least recently used sessions make
// room, so every turn is still saved (the flood of new sessions goes, the
// conversation in use stays) and health stays ok.
TEST(StorageFaultTest, FullSessionStoreEvictsTheLeastRecentlyUsedAndSavesEveryTurn) {
  MockLlm mock;
  ASSERT_TRUE(mock.Start().ok());
  MockBehaviour big;
  big.reply = std::string(400 * 1024, 'x');
  mock.SetChatDefault(big);
  std::string error;
  auto stack = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock.base_url()}, {"LMDB_MAP_MB", "8"},
                                 {"SESSION_MAX_KB", "1024"}, {"CACHE_TTL_S", "0"}, {"RATE_LIMIT_RPS", "1000"},
                                 {"RATE_LIMIT_BURST", "1000"}},
                                &error);
  ASSERT_NE(stack, nullptr) << error;
  const std::vector<pid_t> workers = stack->WorkerPids();

  Outcome kept = Send(stack->port(), Kind::kChat, "the conversation in use");
  ASSERT_TRUE(kept.Answered()) << kept.Describe();
  const std::string kept_id = kept.AnsweredSession();
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {  // 40 × 400 KB into 8 MB
    Outcome o = Send(stack->port(), Kind::kChat, "fill " + std::to_string(i));
    ASSERT_TRUE(o.Answered()) << o.Describe();
    EXPECT_EQ(stack->Get("/api/sessions/" + o.AnsweredSession()).status, 200) << "turn " << i << " not saved";
    ids.push_back(o.AnsweredSession());
    if (i % 3 == 2) {  // in use: a turn every third new session
      Outcome again = Send(stack->port(), Kind::kChat, "still talking " + std::to_string(i), kept_id);
      ASSERT_TRUE(again.Answered()) << again.Describe();
    }
  }
  HttpResponse kept_now = stack->Get("/api/sessions/" + kept_id);
  EXPECT_EQ(kept_now.status, 200) << "the conversation in use was evicted";
  // Its last turn is there (earlier ones went to SESSION_MAX_KB: two 400 KB answers fill it).
  EXPECT_NE(kept_now.body.find("still talking 38"), std::string::npos) << "the last turn was not saved";
  EXPECT_EQ(stack->Get("/api/sessions/" + ids.front()).status, 404) << "8 MB never filled";
  nlohmann::json storage = Health(*stack)["checks"]["storage"];
  EXPECT_EQ(storage["status"], "ok") << storage.dump();
  EXPECT_TRUE(stack->WaitForWorkerLog("\"event\":\"sessions_evicted\"", seconds(2)));
  EXPECT_EQ(stack->WorkerPids(), workers);
  std::printf("[ map full ] 40 sessions of 400 KB into LMDB_MAP_MB=8: every turn saved, the oldest evicted\n");
  stack.reset();
  mock.Stop();
}

// DATA_DIR on a 16 MB tmpfs of its own (to fill it, or to make it
// read-only), unmounted whatever happens.
class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
    data_ = dir_.path("data");
    fs::create_directories(data_);
    if (mount("tmpfs", data_.c_str(), "tmpfs", 0, "size=16m,mode=0755") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    stack_.reset();  // its processes hold files on the mount
    mock_.Stop();
    if (mounted_ && umount(data_.c_str()) != 0) umount2(data_.c_str(), MNT_DETACH);
  }
  // Writes zeros into data/filler until the file system refuses.
  void FillDisk() {
    std::ofstream filler(data_ + "/filler", std::ios::binary);
    std::string block(64 * 1024, '\0');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
    }
  }

  TempDir dir_{"folio-diskfull"};  // removed after TearDown unmounted data_
  std::string data_;
  bool mounted_ = false;
  MockLlm mock_;
  std::unique_ptr<TestStack> stack_;
};

TEST_F(DataDirTest, DiskFullStillAnswersReportsItAndRecoversWhenSpaceComesBack) {
  ASSERT_TRUE(mock_.Start().ok());
  std::string error;
  stack_ = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock_.base_url()}, {"DATA_DIR", data_},
                             {"INDEX_DIR", dir_.path("index")}, {"RATE_LIMIT_RPS", "1000"}, {"RATE_LIMIT_BURST", "1000"}},
                            &error);
  ASSERT_NE(stack_, nullptr) << error;
  const std::vector<pid_t> workers = stack_->WorkerPids();
  ExpectSavedAgain(*stack_);

  FillDisk();
  std::vector<Outcome> unsaved = ChatsWhileUnsaved(*stack_);
  nlohmann::json storage = Health(*stack_)["checks"]["storage"];
  EXPECT_EQ(storage["status"], "warn") << storage.dump();
  // "…not being saved: mdb_txn_commit: No space left on device" from the
  // worker whose commit failed, "no space left on the disk…" from another.
  EXPECT_TRUE(Contains(storage["reason"], "o space left")) << storage.dump();
  EXPECT_EQ(Health(*stack_)["status"], "degraded");
  EXPECT_EQ(stack_->WorkerPids(), workers);

  fs::remove(data_ + "/filler");
  ExpectSavedAgain(*stack_);
  // A follow-up of an unsaved turn is a clean 404: its session never existed.
  Outcome follow = Send(stack_->port(), Kind::kChat, "and then?", unsaved[0].AnsweredSession());
  EXPECT_EQ(follow.response.status, 404) << follow.Describe();
  EXPECT_TRUE(follow.CleanError());
  EXPECT_EQ(stack_->WorkerPids(), workers);
}

// DATA_DIR read-only when the stack starts: every worker answers /ready 503
// naming the cause (/ping still answers, /api/health says unhealthy), then
// exits after STATE_RETRY_S and supervisord starts another that tries
// again; once the directory is writable the next one is ready and saves
// turns. (Read-only while running is the disk-full case: a refused commit.)
TEST_F(DataDirTest, ReadOnlyAtStartIsNotReadyWithTheCauseAndRecoversOnceWritable) {
  ASSERT_TRUE(mock_.Start().ok());
  std::string out;
  ASSERT_EQ(RunCommand("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                       "-subj /CN=localhost -keyout " + dir_.path("key.pem") + " -out " + dir_.path("cert.pem") + " 2>&1",
                       &out),
            0)
      << out;
  ASSERT_EQ(mount(nullptr, data_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, "size=16m,mode=0755"), 0)
      << std::strerror(errno);
  std::string error;
  stack_ = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock_.base_url()}, {"DATA_DIR", data_},
                             {"INDEX_DIR", dir_.path("index")}, {"TLS_CERT", dir_.path("cert.pem")},
                             {"TLS_KEY", dir_.path("key.pem")}, {"STATE_RETRY_S", "2"}},
                            &error, seconds(30), /*wait_ready=*/false);
  ASSERT_NE(stack_, nullptr) << error;
  HttpResponse ready = PollHttp(stack_->port(), "/ready", [](const HttpResponse& r) { return r.status == 503; },
                                seconds(30));
  ASSERT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("not writable"), std::string::npos) << ready.body;
  EXPECT_EQ(stack_->Get("/ping").status, 200);
  EXPECT_EQ(Health(*stack_)["status"], "unhealthy");
  EXPECT_TRUE(stack_->WaitForLog("supervisord.log", "exited: folio-worker", seconds(10)))
      << "a worker that cannot open its state should leave for a fresh one";

  ASSERT_EQ(mount(nullptr, data_.c_str(), nullptr, MS_REMOUNT, "size=16m,mode=0755"), 0) << std::strerror(errno);
  const auto writable = Clock::now();
  ready = PollHttp(stack_->port(), "/ready", [](const HttpResponse& r) { return r.status == 200; }, seconds(20));
  ASSERT_EQ(ready.status, 200) << ready.body;
  std::printf("[ data dir ] read-only at start: /ready 503 \"not writable\"; ready %.0f ms after it became writable "
              "(STATE_RETRY_S=2)\n",
              std::chrono::duration<double, std::milli>(Clock::now() - writable).count());
  ExpectSavedAgain(*stack_);
}

// True once `check` held ten times in a row, within 5 s: with two workers,
// each noticing a change on its own poll, one answer speaks for one worker.
bool TenInARow(const std::function<bool()>& check) {
  int in_a_row = 0;
  for (auto until = Clock::now() + seconds(5); in_a_row < 10 && Clock::now() < until;)
    in_a_row = check() ? in_a_row + 1 : 0;
  return in_a_row == 10;
}

// Searches and chats from kLoadClients clients around each index fault;
// every request is answered or refused cleanly (503 JSON), never dropped
// (502) or crashed.
constexpr int kLoadClients = 8;
// Requests the load finishes before a fault (answered) and after each
// change (answered or refused): twice the clients, so that at least as many
// as there are clients were sent in that phase (one in flight per client).
constexpr int kLoadWindow = 2 * kLoadClients;

class IndexFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mock_.Start().ok());
    index_ = dir_.path("index");
    ASSERT_EQ(Ingest(index_), 0);
    std::string error;
    stack_ = TestStack::Start({{"OPENAI_API_KEY", "sk-x"}, {"LLM_BASE_URL", mock_.base_url()}, {"INDEX_DIR", index_},
                               {"INDEX_POLL_MS", "200"}, {"RATE_LIMIT_RPS", "100000"}, {"RATE_LIMIT_BURST", "100000"},
                               {"CONN_LIMIT_PER_IP", "1000"}},
                              &error);
    ASSERT_NE(stack_, nullptr) << error;
    // Every worker has opened the index, not only the one that answered
    // /ready: each fault below is injected under an index both already serve
    // (a worker still starting could open the damaged file instead).
    ASSERT_TRUE(MockLlm::WaitFor([&] {
      return stack_->ReadLog("worker-0.log").find("\"event\":\"worker_ready\"") != std::string::npos &&
             stack_->ReadLog("worker-1.log").find("\"event\":\"worker_ready\"") != std::string::npos;
    }, seconds(20))) << "a worker never became ready";
    workers_ = stack_->WorkerPids();
  }
  void TearDown() override {
    if (stack_) {
      EXPECT_EQ(stack_->WorkerPids(), workers_) << "a worker crashed";
    }
    stack_.reset();
    mock_.Stop();
  }
  void StartLoad() {
    load_ = std::make_unique<ChatLoad>(stack_->port(), kLoadClients, [](int client, int n) {
      std::string text = "client " + std::to_string(client) + " asks " + std::to_string(n) + " about Tollgate";
      return ChatLoad::Request{n % 4 == 3 ? Kind::kChat : Kind::kSearch, text};
    }, /*follow_up=*/false);
    load_->Start();
  }
  // Stops the load; every outcome was an answer or a clean 503.
  // Returns how many requests were refused (clean 503s).
  int StopLoadAndCheck(const char* phase) {
    load_->Stop();
    int answered = 0, refused = 0;
    for (const Outcome& o : load_->outcomes()) {
      if (o.Answered()) {
        ++answered;
      } else if (o.CleanError() && o.response.status == 503) {
        ++refused;
      } else {
        ADD_FAILURE() << phase << ": " << o.Describe();
      }
    }
    std::printf("[ index    ] %-28s %4d answered, %4d refused (503)\n", phase, answered, refused);
    load_.reset();
    return refused;
  }
  HttpResponse WaitReady(int status, const std::string& reason_part) {
    return PollHttp(stack_->port(), "/ready", [&](const HttpResponse& r) {
      return r.status == status && r.body.find(reason_part) != std::string::npos;
    }, seconds(5));
  }
  // Every worker's searches find results.
  void ExpectSearchFinds() {
    HttpResponse r;
    EXPECT_TRUE(TenInARow([&] {
      r = stack_->Post("/api/search", SearchBody("Tollgate"));
      return r.status == 200 && !r.Json()["results"].empty();
    })) << r.body;
  }
  // `bytes` random bytes written over the start of `name`, in place or as a new file renamed over it.
  void Garbage(const std::string& name, bool in_place) {
    const std::string path = index_ + "/" + name, tmp = path + ".tmp";
    std::string bytes(fs::file_size(path), '\0');
    std::mt19937 rng(7);
    for (char& c : bytes) c = static_cast<char>(rng());
    std::fstream f(in_place ? path : tmp, in_place ? std::ios::in | std::ios::out | std::ios::binary
                                                    : std::ios::out | std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!in_place) fs::rename(tmp, path);
  }

  TempDir dir_{"folio-indexfault"};
  MockLlm mock_;
  std::string index_;
  std::unique_ptr<TestStack> stack_;
  std::vector<pid_t> workers_;
  std::unique_ptr<ChatLoad> load_;
};

TEST_F(IndexFaultTest, TruncatedInPlaceIsTakenOutOfServiceWithoutACrashAndReingestRestoresIt) {
  StartLoad();
  EXPECT_TRUE(load_->WaitForMore(kLoadWindow)) << "the load never got going";
  const auto truncated = Clock::now();
  fs::resize_file(index_ + "/vectors.hnsw", 4096);  // in place: the mapping's pages past 4 KiB are gone
  HttpResponse ready = WaitReady(503, "vectors.hnsw");
  const double noticed_ms = std::chrono::duration<double, std::milli>(Clock::now() - truncated).count();
  EXPECT_TRUE(load_->WaitForMore(kLoadWindow, ChatLoad::Counting::kEnded));
  StopLoadAndCheck("truncated in place");
  ASSERT_EQ(ready.status, 503) << ready.body;
  nlohmann::json index;
  EXPECT_TRUE(TenInARow([&] {
    index = Health(*stack_)["checks"]["index"];
    return index["status"] == "critical" && Contains(index["reason"], "vectors.hnsw");
  })) << index.dump();
  HttpResponse search;
  EXPECT_TRUE(TenInARow([&] {
    search = stack_->Post("/api/search", SearchBody("Tollgate"));
    return search.status == 503 && Contains(search.Json()["error"]["code"], "index");
  })) << search.body;
  Outcome chat = Send(stack_->port(), Kind::kChat, "still answering without an index?");
  EXPECT_TRUE(chat.Answered()) << chat.Describe();

  StartLoad();
  ASSERT_EQ(Ingest(index_), 0);  // sees the damage (checksums) and rebuilds
  EXPECT_EQ(WaitReady(200, "ready").status, 200);
  EXPECT_TRUE(load_->WaitForMore(kLoadWindow, ChatLoad::Counting::kEnded));
  StopLoadAndCheck("re-ingested");
  ExpectSearchFinds();
  EXPECT_TRUE(TenInARow([&] { return Health(*stack_)["checks"]["index"]["status"] == "ok"; }));
  std::printf("[ index    ] truncation noticed (not ready) %.0f ms after it, INDEX_POLL_MS=200\n", noticed_ms);
}

TEST_F(IndexFaultTest, GarbageRenamedOverAFileKeepsTheIntactMappingServingAndSaysSo) {
  StartLoad();
  Garbage("chunks.bin", /*in_place=*/false);
  HttpResponse ready = WaitReady(200, "chunks.bin");
  EXPECT_TRUE(load_->WaitForMore(kLoadWindow, ChatLoad::Counting::kEnded));
  EXPECT_EQ(StopLoadAndCheck("garbage renamed over"), 0);  // the old mapping answers all along
  EXPECT_TRUE(Contains(ready.Json()["warning"], "checksum")) << ready.body;
  nlohmann::json index;
  EXPECT_TRUE(TenInARow([&] {
    index = Health(*stack_)["checks"]["index"];
    return index["status"] == "warn" && stack_->Get("/ready").status == 200;
  })) << index.dump();
  ExpectSearchFinds();  // from the mapping of the old, intact file

  ASSERT_EQ(Ingest(index_), 0);
  EXPECT_TRUE(TenInARow([&] {
    return stack_->Get("/ready").body == R"({"ready":true})" && Health(*stack_)["checks"]["index"]["status"] == "ok";
  })) << "a worker still warns: " << Health(*stack_).dump();
}

TEST_F(IndexFaultTest, GarbageWrittenInPlaceIsTakenOutOfServiceWithoutACrash) {
  StartLoad();
  EXPECT_TRUE(load_->WaitForMore(kLoadWindow)) << "the load never got going";
  Garbage("chunks.bin", /*in_place=*/true);
  HttpResponse ready = WaitReady(503, "chunks.bin");
  EXPECT_TRUE(load_->WaitForMore(kLoadWindow, ChatLoad::Counting::kEnded));
  StopLoadAndCheck("garbage written in place");
  ASSERT_EQ(ready.status, 503) << ready.body;
  EXPECT_TRUE(Contains(ready.Json()["reason"], "checksum")) << ready.body;
  EXPECT_TRUE(TenInARow([&] { return Health(*stack_)["checks"]["index"]["status"] == "critical"; }));

  ASSERT_EQ(Ingest(index_), 0);
  EXPECT_EQ(WaitReady(200, "ready").status, 200);
  ExpectSearchFinds();
}

// A file written next to the index, as a copy is before it is renamed over
// one of the index's files: not mapped, so nothing changes while it grows —
// once, a worker took such growth for an in-place change and dropped its
// intact index (the CI failure of GarbageRenamedOver... above).
TEST_F(IndexFaultTest, StrayFileGrowingBesideTheIndexChangesNothing) {
  StartLoad();
  {
    std::ofstream stray(index_ + "/chunks.bin.tmp", std::ios::binary);
    // Time that must pass: the file grows across six polls of INDEX_POLL_MS=200.
    for (int i = 0; i < 12; ++i) {
      stray << std::string(4096, static_cast<char>('a' + i)) << std::flush;
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  std::this_thread::sleep_for(milliseconds(400));  // and two more polls see it grown: nothing happens
  EXPECT_EQ(StopLoadAndCheck("stray file growing beside"), 0);
  EXPECT_TRUE(TenInARow([&] {
    nlohmann::json index = Health(*stack_)["checks"]["index"];
    return index["status"] == "ok" && index["swaps"] == 0 && stack_->Get("/ready").status == 200;
  })) << Health(*stack_).dump();
  ExpectSearchFinds();
}

// Level-0 links pointing far outside the graph, written in place: the
// running workers take the index out of service; a worker started after
// that (a crash, a deploy) must not put it back — hnswlib follows level-0
// links unchecked, so searching it would write out of bounds.
TEST_F(IndexFaultTest, DamagedLevelZeroLinksStayOutOfServiceAcrossAWorkerRestart) {
  const std::string path = index_ + "/vectors.hnsw";
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    // hnswlib's header: 6 × u64 (offsets, counts, size_data_per_element at
    // byte 24), 2 × i32, 5 × 8 bytes: 96 bytes, then each element's level-0
    // list (u32 count, then u32 neighbour ids) at the start of its block.
    uint64_t count = 0, size_per_element = 0;
    f.seekg(16);
    f.read(reinterpret_cast<char*>(&count), 8);
    f.read(reinterpret_cast<char*>(&size_per_element), 8);
    ASSERT_GT(count, 0u);
    ASSERT_GT(size_per_element, 8u);
    const uint32_t far_away = 0x7ffffff0;
    for (uint64_t i = 0; i < count; ++i) {
      f.seekp(static_cast<std::streamoff>(96 + i * size_per_element + 4));
      f.write(reinterpret_cast<const char*>(&far_away), 4);
    }
  }
  EXPECT_EQ(WaitReady(503, "vectors.hnsw").status, 503);
  // A worker restarted now opens the damaged files from scratch.
  const pid_t victim = workers_.front();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE(MockLlm::WaitFor([&] {
    std::vector<pid_t> now = stack_->WorkerPids();
    return now.size() == workers_.size() && std::find(now.begin(), now.end(), victim) == now.end();
  }, seconds(10))) << "supervisord did not restart the worker";
  workers_ = stack_->WorkerPids();
  std::this_thread::sleep_for(milliseconds(1500));  // time that must pass: past startsecs, a crash loop would show
  EXPECT_TRUE(TenInARow([&] {
    return stack_->Get("/ready").status == 503 && stack_->Post("/api/search", SearchBody("Tollgate")).status == 503;
  })) << "a worker put the damaged index in service";
  std::string out;
  stack_->Supervisorctl("status", &out);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  EXPECT_EQ(out.find("FATAL"), std::string::npos) << out;
  EXPECT_EQ(out.find("BACKOFF"), std::string::npos) << out;
  ASSERT_EQ(Ingest(index_), 0);
  EXPECT_EQ(WaitReady(200, "ready").status, 200);
  ExpectSearchFinds();
}

}  // namespace
}  // namespace folio::test
