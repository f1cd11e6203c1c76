// index_writer.cc: the ingest pipeline. Stages run one after another; the
// embedding and HNSW stages use options.threads threads, the rest one.
//
// Directory swap: files go to "<out>.tmp-<pid>", which is fsynced, opened
// once as a check, then exchanged with <out> by renameat2(RENAME_EXCHANGE)
// (atomic: a reader that opens <out>/manifest.json sees a complete index
// either way). The old index, now under the temp name, is renamed to
// "<out>.old" and removed; processes that still map its files keep them
// until they unmap (unlinked files live on while mapped).
#include "index_writer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <thread>

#include <unistd.h>

#include "anchor_text.h"
#include "bm25_index.h"
#include "clock.h"
#include "chunk_store.h"
#include "embedder_factory.h"
#include "file_util.h"
#include "hash_embedder.h"
#include "index_snapshot.h"
#include "mapped_file.h"
#include "rank_fusion.h"
#include "text_terms.h"

namespace folio {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string UtcNowIso8601() {
  const auto now = static_cast<std::time_t>(UnixNow());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// What is embedded and keyword-indexed for a chunk: its heading path gives
// short sections their context ("Lantern > Outcomes").
std::string IndexText(const Chunk& c) { return c.heading + "\n" + c.text; }

Status FileInfo(const std::string& dir, const char* name, IndexFileInfo* info) {
  Result<MappedFile> f = MappedFile::Open(dir + "/" + name);
  if (!f.ok()) return f.status();
  info->name = name;
  info->bytes = f->size();
  info->xxh3 = Xxh3Hex(f->bytes());
  return Status::Ok();
}

// Embeds texts into rows of `vectors` with `threads` workers.
Status EmbedAll(Embedder& embedder, const std::vector<std::string>& texts, int threads, std::vector<float>* vectors,
                const BuildProgressFn& progress) {
  constexpr size_t kBatch = 64;
  const size_t n = texts.size();
  size_t dim = static_cast<size_t>(std::max(0, embedder.dimension()));
  if (dim == 0) {  // an embedder that learns its dimension from the first response
    std::vector<std::vector<float>> first;
    if (Status s = embedder.EmbedBatch({texts[0]}, &first); !s.ok()) return s;
    dim = first.empty() ? 0 : first[0].size();
    if (dim == 0) return Internal("embed_failed", "embedder returned an empty vector");
  }
  vectors->assign(n * dim, 0.0f);
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  Status error;
  std::mutex error_mu;
  auto work = [&](bool report) {
    std::vector<std::string> batch;
    std::vector<std::vector<float>> out;
    for (size_t start = next.fetch_add(kBatch); start < n && !failed; start = next.fetch_add(kBatch)) {
      size_t end = std::min(n, start + kBatch);
      batch.assign(texts.begin() + start, texts.begin() + end);
      Status s = embedder.EmbedBatch(batch, &out);
      if (s.ok() && out.size() != batch.size()) s = Internal("embed_failed", "embedder returned too few vectors");
      for (size_t i = 0; s.ok() && i < out.size(); ++i) {
        if (out[i].size() != dim) s = Internal("embed_failed", "embedder returned a vector of the wrong size");
        for (float x : out[i]) {
          if (!std::isfinite(x)) s = Internal("embed_failed", "embedder returned a non-finite value");
        }
        if (s.ok()) std::copy(out[i].begin(), out[i].end(), vectors->begin() + (start + i) * dim);
      }
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (error.ok()) error = s;
        failed = true;
      }
      done += end - start;
      if (report && progress) progress({"embed", done.load(), n});
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work, false);
  work(true);  // the calling thread works too, and reports progress
  for (auto& th : pool) th.join();
  if (progress) progress({"embed", n, n});
  return error;
}

}  // namespace

Result<BuildReport> BuildIndex(const std::string& kb_dir, const std::string& out_dir, const IndexBuildOptions& options,
                               const BuildProgressFn& progress) {
  Clock::time_point start = Clock::now();
  if (progress) progress({"read", 0, 0});
  Result<KbContents> kb = ReadKb(kb_dir, options.kb);
  if (!kb.ok()) return kb.status();
  double read_seconds = SecondsSince(start);
  Result<BuildReport> report = BuildIndexFromKb(*kb, out_dir, options, progress);
  if (report.ok()) {
    report->read_seconds = read_seconds;
    report->total_seconds = SecondsSince(start);
  }
  return report;
}

Result<BuildReport> BuildIndexFromKb(const KbContents& kb, const std::string& out_dir, const IndexBuildOptions& options,
                                     const BuildProgressFn& progress) {
  Clock::time_point start = Clock::now();
  if (Status s = options.chunking.Validate(); !s.ok()) return s;
  if (Status s = options.hnsw.Validate(); !s.ok()) return s;
  if (options.threads < 1 || options.threads > 256) return InvalidArgument("bad_threads", "threads must be 1..256");
  if (options.heading_weight < 1 || options.heading_weight > 16) {
    return InvalidArgument("bad_heading_weight", "heading weight must be 1..16");
  }
  if (kb.documents.empty()) return Unprocessable("empty_kb", "no documents to index");
  const bool vectors = options.vectors == IndexBuildOptions::Vectors::kAlways ||
                       FusionWeightsFor(options.embedder_kind).vector > 0;
  const bool use_idf = vectors && options.idf && options.embedder_kind == "hash";
  auto placeholder_idf = use_idf ? IdfTable::FromDocumentFrequencies({}, 0) : nullptr;
  Result<std::unique_ptr<Embedder>> probe = MakeEmbedder(options.embedder_kind, {options.dimension, placeholder_idf, options.openai});
  if (!probe.ok()) return probe.status();

  BuildReport report;
  report.skipped = kb.skipped;
  report.repaired = kb.repaired;
  IndexManifest& m = report.manifest;
  m.kb_version = kb.kb_version;
  m.embedder = (*probe)->name();
  m.embedder_kind = options.embedder_kind;
  m.dimension = vectors ? (*probe)->dimension() : 0;
  m.idf = use_idf;
  m.vectors = vectors;
  m.chunk_tokens = options.chunking.target_tokens;
  m.overlap_tokens = options.chunking.overlap_tokens;
  m.hnsw_m = options.hnsw.M;
  m.hnsw_ef_construction = options.hnsw.ef_construction;
  m.hnsw_ef_search = options.hnsw.ef_search;
  m.bm25_heading_weight = options.heading_weight;

  // Unchanged KB and parameters: keep the index in place — if every byte of
  // it is still what its manifest says (a file damaged in place keeps its
  // size, and re-running folio-ingest is how an operator repairs it).
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    Result<IndexManifest> existing = ReadManifest(out_dir + "/" + kManifestFile);
    if (existing.ok()) {
      if (!options.force && existing->SameBuildAs(m) &&
          IndexSnapshot::Open(out_dir, {HnswGraph::Verify::kFull}).ok()) {
        report.unchanged = true;
        report.manifest = std::move(*existing);
        report.total_seconds = SecondsSince(start);
        return report;
      }
    } else if (existing.status().error() != "index_format_unsupported" &&  // an older folio's index: replaced
               (!fs::is_directory(out_dir, ec) || !fs::is_empty(out_dir, ec))) {
      return InvalidArgument("out_not_index", out_dir + " exists and is not an index directory; refusing to replace it");
    }
  }

  // Chunk.
  Clock::time_point t = Clock::now();
  std::vector<Chunk> chunks;
  std::vector<uint32_t> doc_of;
  for (size_t d = 0; d < kb.documents.size(); ++d) {
    std::vector<Chunk> part = ChunkDocument(kb.documents[d].source, kb.documents[d].text, options.chunking);
    for (Chunk& c : part) {
      chunks.push_back(std::move(c));
      doc_of.push_back(static_cast<uint32_t>(d));
    }
    if (progress && (d % 64 == 0 || d + 1 == kb.documents.size())) progress({"chunk", d + 1, kb.documents.size()});
  }
  if (chunks.empty()) return Unprocessable("empty_kb", "the documents produced no chunks");
  if (chunks.size() > static_cast<size_t>(INT32_MAX)) return Unprocessable("kb_too_large", "too many chunks");
  std::vector<std::string> texts;
  texts.reserve(chunks.size());
  for (const Chunk& c : chunks) {
    texts.push_back(IndexText(c));
    m.tokens += c.tokens;
  }
  m.documents = kb.documents.size();
  m.chunks = chunks.size();
  report.chunk_seconds = SecondsSince(t);

  // Terms (for BM25); idf, vectors and their graph if searched.
  t = Clock::now();
  std::vector<std::vector<std::string>> chunk_terms(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) chunk_terms[i] = IndexTerms(texts[i]);
  std::shared_ptr<const IdfTable> idf;
  std::vector<float> embedded;
  if (vectors) {
    if (use_idf) {
      if (progress) progress({"idf", 0, texts.size()});
      idf = HashEmbedder::ComputeIdf(texts, options.threads);
    }
    Result<std::unique_ptr<Embedder>> embedder = MakeEmbedder(options.embedder_kind, {options.dimension, idf, options.openai});
    if (!embedder.ok()) return embedder.status();
    if (Status s = EmbedAll(**embedder, texts, options.threads, &embedded, progress); !s.ok()) return s;
    m.dimension = static_cast<int>(embedded.size() / texts.size());
    report.embed_seconds = SecondsSince(t);
    report.embed_chunks_per_second = chunks.size() / std::max(report.embed_seconds, 1e-9);
  }

  // Write everything into a sibling temp directory.
  const std::string tmp = out_dir + ".tmp-" + std::to_string(getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Internal("index_write_failed", "cannot create " + tmp + ": " + ec.message());
  TempDirGuard guard(tmp);

  IndexFileInfo info;
  if (vectors) {
    t = Clock::now();
    auto hnsw_progress = [&](size_t done) {
      if (progress) progress({"hnsw", done, chunks.size()});
    };
    if (Status s = BuildHnswFile(embedded.data(), chunks.size(), m.dimension, options.hnsw, options.threads,
                                 tmp + "/" + kHnswFile, hnsw_progress);
        !s.ok()) {
      return s;
    }
    report.hnsw_seconds = SecondsSince(t);
    if (Status s = FileInfo(tmp, kHnswFile, &info); !s.ok()) return s;
    m.files["hnsw"] = info;
  }

  t = Clock::now();
  if (progress) progress({"write", 0, 4});
  {
    Bm25Writer bm25;
    for (size_t i = 0; i < chunks.size(); ++i) {
      std::vector<std::string>& terms = chunk_terms[i];
      std::vector<std::string> heading = IndexTerms(chunks[i].heading);
      for (int r = 1; r < m.bm25_heading_weight; ++r) terms.insert(terms.end(), heading.begin(), heading.end());
      bm25.AddDocument(terms);
    }
    info = IndexFileInfo{};
    info.name = kBm25File;
    if (Status s = bm25.Write(tmp + "/" + kBm25File, static_cast<float>(m.bm25_k1), static_cast<float>(m.bm25_b), &info.bytes, &info.xxh3); !s.ok()) return s;
    m.files["bm25"] = info;
  }
  {  // BM25 over whole documents: the file title and the text
    Bm25Writer docs;
    for (const KbDocument& d : kb.documents) docs.AddDocument(IndexTerms(FileTitle(d.source) + "\n" + d.text));
    info = IndexFileInfo{};
    info.name = kDocBm25File;
    if (Status s = docs.Write(tmp + "/" + kDocBm25File, static_cast<float>(m.bm25_k1), static_cast<float>(m.bm25_b), &info.bytes, &info.xxh3); !s.ok()) return s;
    m.files["doc_bm25"] = info;
  }
  {  // BM25 over what the other documents say around each one's name
    Bm25Writer anchors;
    for (const std::string& text : AnchorTexts(kb.documents)) anchors.AddDocument(IndexTerms(text));
    info = IndexFileInfo{};
    info.name = kAnchorsFile;
    if (Status s = anchors.Write(tmp + "/" + kAnchorsFile, static_cast<float>(m.bm25_k1), static_cast<float>(m.bm25_b), &info.bytes, &info.xxh3); !s.ok()) return s;
    m.files["anchors"] = info;
  }
  if (progress) progress({"write", 1, 4});
  {
    ChunkStoreWriter store;
    for (size_t i = 0; i < chunks.size(); ++i) {
      store.Add(doc_of[i], chunks[i].source, chunks[i].heading, chunks[i].text, static_cast<uint32_t>(chunks[i].tokens));
    }
    info = IndexFileInfo{};
    info.name = kChunksFile;
    if (Status s = store.Write(tmp + "/" + kChunksFile, m.documents, &info.bytes, &info.xxh3); !s.ok()) return s;
    m.files["chunks"] = info;
  }
  if (progress) progress({"write", 2, 4});
  if (idf) {
    if (Status s = idf->Write(tmp + "/" + kIdfFile); !s.ok()) return s;
    if (Status s = FileInfo(tmp, kIdfFile, &info); !s.ok()) return s;
    m.files["idf"] = info;
  }
  m.built_at = UtcNowIso8601();
  if (Status s = WriteManifest(tmp + "/" + kManifestFile, m); !s.ok()) return s;
  if (Status s = SyncDirectory(tmp); !s.ok()) return s;
  if (progress) progress({"write", 3, 4});
  {  // open once with every check (checksums included); the mappings are dropped before the swap
    Result<std::shared_ptr<IndexSnapshot>> check = IndexSnapshot::Open(tmp, {HnswGraph::Verify::kFull});
    if (!check.ok()) return Internal("index_write_failed", "the new index does not open: " + check.status().ToString());
  }
  if (Status s = ReplaceDirectory(tmp, out_dir, out_dir + ".old"); !s.ok()) return s;
  fs::remove_all(out_dir + ".old", ec);
  guard.Commit();
  if (progress) progress({"write", 4, 4});
  report.write_seconds = SecondsSince(t);
  report.total_seconds = SecondsSince(start);
  report.chunks_per_second = chunks.size() / std::max(report.total_seconds, 1e-9);
  return report;
}

}  // namespace folio
