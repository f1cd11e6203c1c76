// admin_cache_index.cc: `folio-admin cache stats|clear` (through
// ResponseCache, on the live cache environment) and `index info|verify`
// (through IndexSnapshot, mapping the index read-only as the workers do).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "admin.h"
#include "index_snapshot.h"

namespace folio::admin {

namespace {

Json CacheStatsJson(const CacheStats& s) {
  return Json{{"entries", s.entries},
              {"bytes", s.bytes},
              {"hits", s.hits},
              {"misses", s.misses},
              {"hit_rate", s.hit_rate},
              {"evictions", s.evictions},
              {"expirations", s.expirations},
              {"coalesced", s.coalesced},
              {"upstream_saved", s.upstream_saved},
              {"map_used_bytes", s.map_used_bytes},
              {"map_size_bytes", s.map_size_bytes}};
}

std::string Percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
  return buf;
}

// The index directory's manifest, or why there is none.
Result<IndexManifest> Manifest(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return NotFound("no_index", "no index at " + Shown(dir));
  Result<IndexManifest> m = ReadManifest(dir + "/" + kManifestFile);
  if (!m.ok() && m.status().code() == Code::kNotFound) {
    return NotFound("no_index", "no index at " + Shown(dir) + " (no " + kManifestFile + ")");
  }
  return m;
}

}  // namespace

Answer RunCacheStats(const Context& ctx) {
  Answer a;
  if (!ctx.layout.cache_enabled) {
    a.doc["enabled"] = false;
    a.text = "the response cache is disabled (CACHE_TTL_S=0)\n";
    return a;
  }
  Result<std::unique_ptr<ResponseCache>> cache = OpenCache(ctx.layout);
  if (!cache.ok()) return Failure(cache.status());
  CacheStats s = (*cache)->Stats();
  if (!s.error.empty()) return Failure(Internal("cache_stats", s.error));
  a.doc["enabled"] = true;
  a.doc["path"] = Shown(ctx.layout.cache.path);
  a.doc.update(CacheStatsJson(s));
  a.text = "response cache at " + Shown(ctx.layout.cache.path) + "\n" + "  entries       " + std::to_string(s.entries) +
           " (" + FormatBytes(s.bytes) + ")\n" + "  lookups       " + std::to_string(s.hits) + " hits, " +
           std::to_string(s.misses) + " misses (" + Percent(s.hit_rate) + " hit rate)\n" + "  removed       " +
           std::to_string(s.evictions) + " evicted, " + std::to_string(s.expirations) + " expired\n" +
           "  saved         " + std::to_string(s.upstream_saved) + " upstream calls (" + std::to_string(s.coalesced) +
           " coalesced)\n" + "  map           " + FormatBytes(s.map_used_bytes) + " used of " +
           FormatBytes(s.map_size_bytes) + "\n" + "(each worker adds its hit and miss counts every few seconds)\n";
  return a;
}

Answer RunCacheClear(const Context& ctx) {
  Answer a;
  if (!ctx.layout.cache_enabled) {
    a.doc["enabled"] = false;
    a.doc["cleared"] = 0;
    a.text = "the response cache is disabled (CACHE_TTL_S=0): nothing to clear\n";
    return a;
  }
  Result<std::unique_ptr<ResponseCache>> cache = OpenCache(ctx.layout);
  if (!cache.ok()) return Failure(cache.status());
  const uint64_t before = (*cache)->Stats().entries;
  if (folio::Status s = (*cache)->Clear(); !s.ok()) return Failure(s);
  const uint64_t after = (*cache)->Stats().entries;  // answers stored since the clear began
  a.doc["enabled"] = true;
  a.doc["cleared"] = before > after ? before - after : 0;
  a.doc["entries"] = after;
  a.text = "cleared the response cache at " + Shown(ctx.layout.cache.path) + " (" + std::to_string(before) +
           " entries before, " + std::to_string(after) + " now)\n";
  return a;
}

Answer RunIndexInfo(const Context& ctx) {
  const std::string& dir = ctx.layout.index_dir;
  Result<IndexManifest> manifest = Manifest(dir);
  if (!manifest.ok()) return Failure(manifest.status());
  const IndexManifest& m = *manifest;
  Answer a;
  a.doc["dir"] = Shown(dir);
  a.doc["format_version"] = m.format_version;
  a.doc["kb_version"] = m.kb_version;
  a.doc["built_at"] = m.built_at;
  a.doc["documents"] = m.documents;
  a.doc["chunks"] = m.chunks;
  a.doc["tokens"] = m.tokens;
  a.doc["embedder"] = m.embedder;
  a.doc["dimension"] = m.dimension;
  a.doc["idf"] = m.idf;
  a.doc["vectors"] = m.vectors;
  a.doc["chunking"] = Json{{"target_tokens", m.chunk_tokens}, {"overlap_tokens", m.overlap_tokens}};
  a.doc["hnsw"] = Json{{"m", m.hnsw_m}, {"ef_construction", m.hnsw_ef_construction}, {"ef_search", m.hnsw_ef_search}};
  a.doc["files"] = Json::array();
  uint64_t total = 0;
  for (const auto& [role, f] : m.files) {
    a.doc["files"].push_back(Json{{"role", role}, {"name", f.name}, {"bytes", f.bytes}, {"xxh3", f.xxh3}});
    total += f.bytes;
  }
  // The quick check is what a worker runs before serving an index.
  Result<std::shared_ptr<IndexSnapshot>> opened = IndexSnapshot::Open(dir);
  a.doc["quick_check"] = opened.ok() ? Json{{"ok", true}} : Json{{"ok", false}, {"error", ErrorJson(opened.status())}};
  a.text = "index at " + Shown(dir) + "\n" + "  kb_version   " + m.kb_version + " (built " + m.built_at + ")\n" +
           "  content      " + std::to_string(m.documents) + " documents, " + std::to_string(m.chunks) + " chunks, " +
           std::to_string(m.tokens) + " tokens\n" + "  embedder     " +
           (m.vectors ? m.embedder + ", dimension " + std::to_string(m.dimension) + "\n" + "  hnsw         M " +
                            std::to_string(m.hnsw_m) + ", ef_construction " + std::to_string(m.hnsw_ef_construction) +
                            ", ef_search " + std::to_string(m.hnsw_ef_search) + "\n"
                      : m.embedder_kind + ", no vectors (keyword search only)\n") +
           "  files        " + std::to_string(m.files.size()) + ", " + FormatBytes(total) + "\n" + "  quick check  " +
           (opened.ok() ? std::string("ok") : "FAILED: " + opened.status().message()) + "\n";
  if (!opened.ok()) {
    a.exit_code = 1;
    a.error = "the index does not open: " + opened.status().message();
  }
  return a;
}

Answer RunIndexVerify(const Context& ctx) {
  const std::string& dir = ctx.layout.index_dir;
  Result<IndexManifest> manifest = Manifest(dir);
  if (!manifest.ok()) return Failure(manifest.status());
  auto start = std::chrono::steady_clock::now();
  IndexOpenOptions full;
  full.verify = HnswGraph::Verify::kFull;  // checksums, every record, posting and level-0 link
  Result<std::shared_ptr<IndexSnapshot>> opened = IndexSnapshot::Open(dir, full);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Answer a;
  a.doc["dir"] = Shown(dir);
  a.doc["ok"] = opened.ok();
  a.doc["seconds"] = seconds;
  if (!opened.ok()) {
    a.exit_code = 1;
    a.doc["error"] = ErrorJson(opened.status());
    a.error = "index at " + Shown(dir) + " FAILED verification: " + opened.status().message();
    return a;
  }
  a.doc["chunks"] = (*opened)->manifest().chunks;
  a.doc["kb_version"] = (*opened)->manifest().kb_version;
  char took[32];
  std::snprintf(took, sizeof took, "%.2f s", seconds);
  a.text = "index at " + Shown(dir) + " verified: " + std::to_string((*opened)->manifest().chunks) +
           " chunks, every checksum, record, posting and link checked (" + took + ")\n";
  return a;
}

}  // namespace folio::admin
