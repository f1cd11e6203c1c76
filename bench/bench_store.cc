// bench_store.cc: latency of the LMDB store as the workers use it: a 1 KB Put in
// its own write transaction (relaxed and synced, in both CommitSync modes) and a
// Get in its own read transaction. Prints p50/p99 beside the targets.
// Usage: bench-store [dir] [ops]. dir must be on the disk DATA_DIR lives on
// (default: a fresh directory under $TMPDIR or /tmp, removed afterwards), since
// synced commits measure that disk's fsync.
#include <stdlib.h>
#include <sys/vfs.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "store.h"

namespace {

using folio::CommitSync;
using folio::Durability;

struct Percentiles {
  double p50_us = 0;
  double p99_us = 0;
};

Percentiles Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

template <typename Fn>
Percentiles Time(int ops, Fn&& fn) {
  std::vector<double> us;
  us.reserve(ops);
  for (int i = 0; i < ops; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!fn(i)) {
      std::fprintf(stderr, "operation %d failed\n", i);
      std::exit(1);
    }
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  return Summarize(std::move(us));
}

std::unique_ptr<folio::Store> OpenOrDie(const std::string& path, CommitSync mode) {
  folio::StoreOptions options;
  options.path = path;
  options.map_size_mb = 1024;
  options.databases = {"bench"};
  options.commit_sync = mode;
  auto store = folio::Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(store.value());
}

void Row(const char* what, int ops, Percentiles p, const char* target) {
  std::printf("%-44s %6d ops  p50 %8.1f µs  p99 %8.1f µs   %s\n", what, ops, p.p50_us, p.p99_us, target);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  bool remove_dir = false;
  if (argc > 1) {
    dir = argv[1];
  } else {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/folio-bench-store-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
    remove_dir = true;
  }
  const int ops = argc > 2 ? std::max(100, atoi(argv[2])) : 20000;
  const int synced_ops = std::min(ops, 2000);  // ≈ 0.2-0.5 ms each
  struct statfs fs;
  if (statfs(dir.c_str(), &fs) == 0) std::printf("dir %s (filesystem magic 0x%lx)\n", dir.c_str(), (long)fs.f_type);

  const std::string value(1024, 'v');
  std::mt19937 rng(7);
  auto key = [&](int i) { return "key" + std::to_string(i % ops); };

  {
    auto store = OpenOrDie(dir + "/on_request", CommitSync::kOnRequest);
    folio::Db db = *store->Database("bench");
    Row("Put 1 KB, kOnRequest env, kRelaxed", ops,
        Time(ops, [&](int i) { return store->Put(db, key(i), value, Durability::kRelaxed).ok(); }),
        "target: cache write txn p99 <= 200 µs");
    Row("Put 1 KB, kOnRequest env, kSynced", synced_ops,
        Time(synced_ops, [&](int i) { return store->Put(db, key(i), value, Durability::kSynced).ok(); }),
        "(commit + mdb_env_sync)");
    Row("Get 1 KB (own read txn, copy)", ops, Time(ops, [&](int) {
          auto got = store->Get(db, key(static_cast<int>(rng() % ops)));
          return got.ok() && got->has_value();
        }),
        "(field notes: ≈ 1.2 µs lookup)");
  }
  {
    auto store = OpenOrDie(dir + "/every_commit", CommitSync::kEveryCommit);
    folio::Db db = *store->Database("bench");
    Row("Put 1 KB, kEveryCommit env (always synced)", synced_ops,
        Time(synced_ops, [&](int i) { return store->Put(db, key(i), value, Durability::kSynced).ok(); }),
        "(field notes: ≈ 434 µs p50, 708 µs p99)");
  }
  if (remove_dir) std::filesystem::remove_all(dir);
  return 0;
}
