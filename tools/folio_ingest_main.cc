// folio-ingest: builds (or refreshes) an index directory from a knowledge-base
// directory. A thin main over BuildIndex (shared/index_writer.h): parse flags,
// render progress on stderr, print a summary. Exit 0 on success (including
// "unchanged"), 1 on a build error, 2 on bad flags.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "config.h"
#include "index_writer.h"

namespace {

using Clock = std::chrono::steady_clock;

// Renders BuildProgress: a redrawn bar on a terminal, a plain line every ~2 s otherwise.
class ProgressRenderer {
 public:
  explicit ProgressRenderer(bool tty) : tty_(tty) {}

  void Update(const folio::BuildProgress& p) {
    Clock::time_point now = Clock::now();
    bool new_stage = p.stage != stage_;
    if (new_stage) {
      if (tty_ && drawn_) std::fputc('\n', stderr);
      stage_ = std::string(p.stage);
      stage_start_ = now;
      drawn_ = false;
    }
    bool finished = p.total > 0 && p.done >= p.total;
    double since_draw = std::chrono::duration<double>(now - last_draw_).count();
    if (tty_ ? (since_draw < 0.1 && !finished && !new_stage) : since_draw < 2.0) return;
    last_draw_ = now;
    drawn_ = true;
    double elapsed = std::chrono::duration<double>(now - stage_start_).count();
    double rate = elapsed > 0 ? p.done / elapsed : 0;
    if (tty_) {
      constexpr int kWidth = 30;
      int filled = p.total ? static_cast<int>(kWidth * static_cast<double>(p.done) / p.total) : 0;
      std::string bar(filled, '#');
      bar.resize(kWidth, '-');
      double eta = rate > 0 && p.total > p.done ? (p.total - p.done) / rate : 0;
      std::fprintf(stderr, "\r%-6s [%s] %zu/%zu  %.0f/s  ETA %.0fs   ", stage_.c_str(), bar.c_str(), p.done,
                   p.total, rate, eta);
    } else {
      std::fprintf(stderr, "folio-ingest: %s %zu/%zu (%.0f/s)\n", stage_.c_str(), p.done, p.total, rate);
    }
    std::fflush(stderr);
  }

  void Finish() {
    if (tty_ && drawn_) std::fputc('\n', stderr);
  }

 private:
  bool tty_;
  bool drawn_ = false;  // something of the current stage is on screen
  std::string stage_;
  Clock::time_point stage_start_, last_draw_ = Clock::now();
};

void PrintSummary(const folio::BuildReport& r, const std::string& out) {
  const folio::IndexManifest& m = r.manifest;
  if (r.unchanged) {
    std::printf("index unchanged: %s already holds kb_version %s built with the same parameters (%.2f s; --force to rebuild)\n",
                out.c_str(), m.kb_version.c_str(), r.total_seconds);
  } else {
    std::printf("index written to %s\n", out.c_str());
    std::printf("  kb_version   %s\n", m.kb_version.c_str());
    std::printf("  files        %llu documents\n", static_cast<unsigned long long>(m.documents));
    std::printf("  chunks       %llu (%llu tokens, target %zu / overlap %zu)\n",
                static_cast<unsigned long long>(m.chunks), static_cast<unsigned long long>(m.tokens), m.chunk_tokens,
                m.overlap_tokens);
    if (m.vectors) {
      std::printf("  embedder     %s, dimension %d\n", m.embedder.c_str(), m.dimension);
      std::printf("  embed        %.2f s (%.0f chunks/s)\n", r.embed_seconds, r.embed_chunks_per_second);
      std::printf("  hnsw build   %.2f s (M %d, ef_construction %d)\n", r.hnsw_seconds, m.hnsw_m, m.hnsw_ef_construction);
    } else {
      std::printf("  embedder     %s: no vectors (its fusion weight is 0: keyword search only; --vectors always builds them)\n",
                  m.embedder_kind.c_str());
    }
    std::printf("  total        %.2f s, %.0f chunks/s (read %.2f, chunk %.2f, write %.2f)\n", r.total_seconds,
                r.chunks_per_second, r.read_seconds, r.chunk_seconds, r.write_seconds);
  }
  std::printf("  skipped      %zu file(s)\n", r.skipped.size());
  for (const folio::KbSkipped& s : r.skipped) std::printf("    %s: %s\n", s.path.c_str(), s.reason.c_str());
  std::printf("  repaired     %zu file(s) with invalid UTF-8\n", r.repaired.size());
  for (const std::string& p : r.repaired) std::printf("    %s\n", p.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"folio-ingest: build a folio index directory from a knowledge-base directory"};
  std::string kb, out;
  folio::IndexBuildOptions opt;
  app.add_option("--kb", kb, "knowledge-base directory (.md, .markdown, .txt; read recursively)")->required();
  app.add_option("--out", out, "index directory to create or replace atomically")->required();
  app.add_option("--embedder", opt.embedder_kind, "embedder kind")
      ->check(CLI::IsMember({"hash", "openai"}))
      ->capture_default_str();
  app.add_option("--dim", opt.dimension, "vector dimension (openai: size asked of the model, 0 = its own)")->capture_default_str();
  app.add_option("--chunk-tokens", opt.chunking.target_tokens, "target chunk size in estimated tokens")
      ->capture_default_str();
  app.add_option("--overlap", opt.chunking.overlap_tokens, "overlap between chunks in estimated tokens")
      ->capture_default_str();
  app.add_option("--M", opt.hnsw.M, "HNSW links per node")->capture_default_str();
  app.add_option("--ef-construction", opt.hnsw.ef_construction, "HNSW build beam width")->capture_default_str();
  app.add_option("--ef-search", opt.hnsw.ef_search, "default HNSW query beam width (stored in the manifest)")
      ->capture_default_str();
  app.add_option("--threads", opt.threads, "threads for embedding and the HNSW build")->capture_default_str();
  std::string vectors = "auto";
  app.add_option("--vectors", vectors,
                 "auto: embed the chunks and build their HNSW graph only if the embedder's ranking is fused "
                 "(openai yes, hash no); always: build them anyway (benchmarks)")
      ->check(CLI::IsMember({"auto", "always"}))
      ->capture_default_str();
  bool no_idf = false;
  app.add_flag("--no-idf", no_idf, "hash embedder without idf weights");
  app.add_flag("--force", opt.force, "rebuild even if the KB and parameters are unchanged");
  CLI11_PARSE(app, argc, argv);
  opt.idf = !no_idf;
  if (opt.embedder_kind == "openai") {  // its endpoint and key come from the same settings as the worker's
    std::vector<std::string> problems;
    folio::Result<folio::Config> config = folio::Config::Load(&problems);
    for (const std::string& p : problems) std::fprintf(stderr, "folio-ingest: config: %s\n", p.c_str());
    if (!config.ok()) return 1;
    opt.openai = folio::OpenAiEndpointOf(config->settings());
  }
  if (vectors == "always") opt.vectors = folio::IndexBuildOptions::Vectors::kAlways;

  ProgressRenderer renderer(isatty(2) == 1);
  folio::Result<folio::BuildReport> report =
      folio::BuildIndex(kb, out, opt, [&](const folio::BuildProgress& p) { renderer.Update(p); });
  renderer.Finish();
  if (!report.ok()) {
    std::fprintf(stderr, "folio-ingest: %s\n", report.status().ToString().c_str());
    return 1;
  }
  PrintSummary(*report, out);
  return 0;
}
