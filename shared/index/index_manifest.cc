// index_manifest.cc: manifest.json <-> IndexManifest, with nlohmann::json in
// its non-throwing style (parse with allow_exceptions=false, check each type
// before reading it: json_fields.h).
#include "index_manifest.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "file_util.h"
#include "json_fields.h"

namespace folio {
namespace {

using nlohmann::json;

Status Corrupt(const std::string& path, const std::string& why) {
  return InvalidArgument("index_corrupt", path + ": " + why);
}

}  // namespace

bool IndexManifest::SameBuildAs(const IndexManifest& o) const {
  return format_version == o.format_version && kb_version == o.kb_version && embedder == o.embedder &&
         embedder_kind == o.embedder_kind && dimension == o.dimension && idf == o.idf && vectors == o.vectors &&
         chunk_tokens == o.chunk_tokens && overlap_tokens == o.overlap_tokens && hnsw_m == o.hnsw_m &&
         hnsw_ef_construction == o.hnsw_ef_construction && bm25_heading_weight == o.bm25_heading_weight;
}

Result<IndexManifest> ReadManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("index_not_found", "no index manifest at " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (text.size() > (1u << 20)) return Corrupt(path, "manifest larger than 1 MiB");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Corrupt(path, "not a JSON object");

  IndexManifest m;
  if (!GetUnsigned(j, "format_version", &m.format_version)) return Corrupt(path, "format_version missing");
  if (m.format_version != kIndexFormatVersion) {
    return Unprocessable("index_format_unsupported",
                         path + ": format_version " + std::to_string(m.format_version) + " (this build reads " +
                             std::to_string(kIndexFormatVersion) + "): build the index again with folio-ingest");
  }
  const json* emb = GetObject(j, "embedder");
  const json* chunking = GetObject(j, "chunking");
  const json* hnsw = GetObject(j, "hnsw");
  const json* bm25 = GetObject(j, "bm25");
  const json* counts = GetObject(j, "counts");
  const json* files = GetObject(j, "files");
  if (!emb || !chunking || !hnsw || !bm25 || !counts || !files) return Corrupt(path, "a section is missing");
  bool ok = GetString(j, "kb_version", &m.kb_version) && GetString(j, "built_at", &m.built_at) &&
            GetString(*emb, "name", &m.embedder) && GetString(*emb, "kind", &m.embedder_kind) &&
            GetUnsigned(*emb, "dimension", &m.dimension) && GetBool(*emb, "idf", &m.idf) &&
            GetBool(*emb, "vectors", &m.vectors) &&
            GetUnsigned(*chunking, "target_tokens", &m.chunk_tokens) &&
            GetUnsigned(*chunking, "overlap_tokens", &m.overlap_tokens) && GetUnsigned(*hnsw, "M", &m.hnsw_m) &&
            GetUnsigned(*hnsw, "ef_construction", &m.hnsw_ef_construction) &&
            GetUnsigned(*hnsw, "ef_search", &m.hnsw_ef_search) && GetDouble(*bm25, "k1", &m.bm25_k1) &&
            GetDouble(*bm25, "b", &m.bm25_b) && GetUnsigned(*bm25, "heading_weight", &m.bm25_heading_weight) && GetUnsigned(*counts, "documents", &m.documents) &&
            GetUnsigned(*counts, "chunks", &m.chunks) && GetUnsigned(*counts, "tokens", &m.tokens);
  if (!ok) return Corrupt(path, "a field is missing or has the wrong type");
  for (const auto& [role, f] : files->items()) {
    if (!f.is_object()) return Corrupt(path, "files." + role + " is not an object");
    IndexFileInfo info;
    if (!GetString(f, "name", &info.name) || !GetUnsigned(f, "bytes", &info.bytes) || !GetString(f, "xxh3", &info.xxh3)) {
      return Corrupt(path, "files." + role + " is incomplete");
    }
    // A file name is a plain name inside the index directory, nothing else.
    if (info.name.empty() || info.name.find('/') != std::string::npos || info.name[0] == '.') {
      return Corrupt(path, "files." + role + " has an unsafe name");
    }
    m.files[role] = info;
  }
  return m;
}

Status WriteManifest(const std::string& path, const IndexManifest& m) {
  json files = json::object();
  for (const auto& [role, f] : m.files) files[role] = {{"name", f.name}, {"bytes", f.bytes}, {"xxh3", f.xxh3}};
  json j = {
      {"format_version", m.format_version},
      {"kb_version", m.kb_version},
      {"embedder", {{"name", m.embedder}, {"kind", m.embedder_kind}, {"dimension", m.dimension}, {"idf", m.idf},
                    {"vectors", m.vectors}}},
      {"chunking", {{"target_tokens", m.chunk_tokens}, {"overlap_tokens", m.overlap_tokens}}},
      {"hnsw", {{"space", "ip"}, {"M", m.hnsw_m}, {"ef_construction", m.hnsw_ef_construction}, {"ef_search", m.hnsw_ef_search}}},
      {"bm25", {{"k1", m.bm25_k1}, {"b", m.bm25_b}, {"heading_weight", m.bm25_heading_weight}}},
      {"counts", {{"documents", m.documents}, {"chunks", m.chunks}, {"tokens", m.tokens}}},
      {"built_at", m.built_at},
      {"files", files},
  };
  return WriteFileDurably(path, j.dump(2) + "\n");
}

}  // namespace folio
