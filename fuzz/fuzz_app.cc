// fuzz_app.cc: building the sample index once and wiring a ready App.
#include "fuzz_app.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "index_writer.h"
#include "log.h"
#include "response_cache.h"
#include "state.h"

namespace folio::fuzz {

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz_app: %s\n", what.c_str());
  std::abort();
}

std::string MakeTempDir() {
  std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  std::string tmpl = base + "/folio-fuzz-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed under " + base);
  return tmpl;
}

std::string& Root() {
  static std::string root;
  return root;
}

void Seed(App& app) {
  const int64_t now = UnixNow();
  // Already there (a reset found it unexpired) is fine.
  (void)app.sessions->StartWithTurn(kKnownSessionId, "Who is Ada?", "Ada is the subject of this knowledge base.", now);
  if (!app.cache) return;
  Intent intent = app.intents ? app.intents->Classify(kCachedQuestion) : Intent::kOther;
  ServingIndex::Current kb = app.index.Get();
  std::string key = CacheKey({NormalizeMessage(kCachedQuestion), IntentName(intent), kEmptyHistoryDigest, "none",
                              app.prompt_version, kb.index ? kb.index->manifest().kb_version : "none"});
  nlohmann::json payload = {{"text", "Lantern is a project.\nIt lights things."},
                            {"sources", {{{"source", "projects/lantern.md"}, {"heading", "Lantern"}, {"score", 0.5}}}},
                            {"degraded", false},
                            {"prompt_tokens", 10},
                            {"completion_tokens", 5}};
  Status put = app.cache->Put(key, payload.dump(), UnixMsCoarse());
  if (!put.ok()) Die("cache put: " + put.ToString());
}

}  // namespace

App& FuzzApp() {
  static App* app = [] {
    Root() = MakeTempDir();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(Root(), ec);
    });
    const std::string index = Root() + "/index";
    IndexBuildOptions options;
    options.threads = 1;
    Result<BuildReport> built = BuildIndex(FOLIO_SOURCE_DIR "/kb", index, options);
    if (!built.ok()) Die("index: " + built.status().ToString());
    std::filesystem::create_directories(Root() + "/run");
    std::map<std::string, std::string> env = {
        {"DATA_DIR", Root() + "/data"}, {"INDEX_DIR", index}, {"RUN_DIR", Root() + "/run"},
        {"LMDB_MAP_MB", "64"},          {"CACHE_MAX_MB", "8"}};
    std::vector<std::string> problems;
    Result<Config> config = Config::Load(&problems, [&env](const char* name) -> const char* {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    });
    if (!config.ok()) Die("config: " + config.status().ToString());
    InitLogging("info");  // as in production; scripts/fuzz closes stdout
    auto* made = new App(std::move(config.value()));  // lives until exit: handlers may keep &app
    Status opened = OpenState(*made);
    if (!opened.ok()) Die("state: " + opened.ToString());
    if (Status kb = made->index.Load(); !kb.ok()) Die("knowledge: " + kb.ToString());
    made->readiness.SetReady();
    Seed(*made);
    return made;
  }();
  return *app;
}

void ResetStateEvery(int every) {
  static int calls = 0;
  if (++calls % every != 0) return;
  App& app = FuzzApp();
  // Far past every TTL: the sweep deletes every session the inputs made.
  (void)app.sessions->SweepExpired(UnixNow() + 400LL * 86400);
  Seed(app);
}

}  // namespace folio::fuzz
