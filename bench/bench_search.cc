// bench_search: figures for the index on a synthetic corpus. Generates N
// chunks of text from a Zipf vocabulary with topics (so near neighbours
// exist), builds an index with folio's writer (2 threads), opens it by mmap,
// then measures: embed rate on one core, build time, open time, hybrid top-10
// search latency (p50/p99 over the queries) and HNSW recall@10 against brute
// force at several ef. Each figure is printed beside its target.
// A plain main; links folio_shared. Usage: bench_search [--chunks 10000] ...
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "hash_embedder.h"
#include "index_snapshot.h"
#include "index_writer.h"

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Zipf(s) sampler over ranks 0..n-1.
class Zipf {
 public:
  Zipf(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf_[i] = (sum += 1.0 / std::pow(i + 1.0, s));
    for (double& c : cdf_) c /= sum;
  }
  size_t operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return std::min(cdf_.size() - 1, static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()));
  }

 private:
  std::vector<double> cdf_;
};

// The head of the Zipf vocabulary is real English function words (which the
// tokenizer drops, as in real text); the rest are pronounceable distinct
// pseudo-words: word i spelled in base-40 syllables.
std::string Word(size_t i) {
  static const char* kHead[] = {"the", "of", "and", "to", "a", "in", "is", "it", "that", "for", "was", "on",
                                "with", "as", "by", "at", "from", "this", "be", "are", "or", "an", "which",
                                "but", "not", "have", "has", "were", "their", "they", "can", "will", "its",
                                "more", "when", "into", "than", "also", "other", "some"};
  if (i < sizeof(kHead) / sizeof(kHead[0])) return kHead[i];
  static const char* kSyl[] = {"ka", "lo", "mi", "nu", "pe", "ra", "so", "ti", "vu", "ze", "ba", "do", "fi", "gu",
                               "he", "ja", "ko", "li", "mo", "ne", "po", "ru", "sa", "te", "vi", "wo", "xa", "yu",
                               "zo", "bri", "cla", "dre", "fro", "gli", "pra", "sto", "tri", "vor", "wen", "zul"};
  std::string w;
  do {
    w += kSyl[i % 40];
    i /= 40;
  } while (i > 0);
  return w + "n";
}

struct Corpus {
  size_t vocab = 30000, topics = 300, topic_words = 400;
  std::vector<std::vector<size_t>> topic_vocab;
  Zipf global{30000, 1.07}, within{400, 1.0};
  explicit Corpus(std::mt19937_64& rng) {
    topic_vocab.resize(topics);
    for (auto& t : topic_vocab) {
      for (size_t j = 0; j < topic_words; ++j) t.push_back(1000 + rng() % (vocab - 1000));  // skip the head words
    }
  }
  std::string Text(std::mt19937_64& rng, size_t topic, size_t words, double topical) const {
    std::string s;
    std::uniform_real_distribution<double> u(0, 1);
    for (size_t i = 0; i < words; ++i) {
      size_t w = u(rng) < topical ? topic_vocab[topic][within(rng)] : global(rng);
      s += Word(w);
      s += (i % 17 == 16) ? ".\n" : " ";
    }
    return s;
  }
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

void Figure(const char* what, double value, const char* unit, const char* target, bool ok) {
  std::printf("  %-34s %12.3f %-10s target %-10s %s\n", what, value, unit, target, ok ? "OK" : "MISSED");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_search: index build/open/search figures on a synthetic corpus"};
  size_t chunks = 100000, queries = 1000;
  int threads = 2;
  folio::IndexBuildOptions opt;
  opt.hnsw = folio::HnswParams{16, 200, 128};
  opt.vectors = folio::IndexBuildOptions::Vectors::kAlways;  // the graph is what this measures
  std::string dir;
  app.add_option("--chunks", chunks, "corpus size in chunks")->capture_default_str();
  app.add_option("--queries", queries, "queries for latency and recall")->capture_default_str();
  app.add_option("--M", opt.hnsw.M)->capture_default_str();
  app.add_option("--ef-construction", opt.hnsw.ef_construction)->capture_default_str();
  app.add_option("--dim", opt.dimension)->capture_default_str();
  app.add_option("--threads", threads, "build threads")->capture_default_str();
  app.add_option("--dir", dir, "work directory (default: a fresh one under /tmp, removed after)");
  CLI11_PARSE(app, argc, argv);
  opt.threads = threads;

  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/folio-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  const std::string out = dir + "/index";
  std::mt19937_64 rng(42);
  Corpus corpus(rng);
  folio::KbContents kb;
  kb.kb_version = "bench";
  for (size_t i = 0; i < chunks; ++i) {  // ~110 words ~ 150-190 tokens: one chunk per document
    kb.documents.push_back({"doc" + std::to_string(i) + ".txt", corpus.Text(rng, rng() % corpus.topics, 110, 0.6)});
  }
  std::printf("bench_search: %zu chunks, dim %d, M %d, ef_construction %d, %d build threads\n", chunks, opt.dimension,
              opt.hnsw.M, opt.hnsw.ef_construction, threads);

  Clock::time_point t = Clock::now();
  folio::Result<folio::BuildReport> report = folio::BuildIndexFromKb(kb, out, opt);
  if (!report.ok()) {
    std::fprintf(stderr, "build failed: %s\n", report.status().ToString().c_str());
    return 1;
  }
  double build_total = Since(t);

  t = Clock::now();
  auto snap = folio::IndexSnapshot::Open(out);
  double open_quick = Since(t);
  if (!snap.ok()) {
    std::fprintf(stderr, "open failed: %s\n", snap.status().ToString().c_str());
    return 1;
  }
  t = Clock::now();
  bool full_ok = folio::IndexSnapshot::Open(out, {folio::HnswGraph::Verify::kFull}).ok();
  double open_full = Since(t);

  // Embed rate on one core, with the index's own (idf) embedder; the vectors
  // also serve as the brute-force ground truth.
  auto embedder_or = (*snap)->MakeQueryEmbedder();
  auto* embedder = dynamic_cast<folio::HashEmbedder*>(embedder_or->get());
  const int dim = embedder->dimension();
  std::vector<float> vectors(chunks * dim);
  t = Clock::now();
  for (size_t i = 0; i < chunks; ++i) {
    auto c = (*snap)->chunks().Get(static_cast<uint32_t>(i));
    std::string text = std::string(c->heading) + "\n" + std::string(c->text);
    embedder->EmbedInto(text, &vectors[i * dim]);
  }
  double embed_rate = chunks / Since(t);

  // Queries: short texts from a topic.
  std::vector<std::string> qtext;
  std::vector<float> qvec(queries * dim);
  for (size_t q = 0; q < queries; ++q) {
    qtext.push_back(corpus.Text(rng, rng() % corpus.topics, 4 + rng() % 6, 0.8));
    embedder->EmbedInto(qtext.back(), &qvec[q * dim]);
  }
  // Brute-force top-10, 2 threads.
  const size_t k = 10;
  std::vector<std::set<uint32_t>> truth(queries);
  auto brute = [&](size_t from, size_t step) {
    std::vector<std::pair<float, uint32_t>> scored(chunks);
    for (size_t q = from; q < queries; q += step) {
      for (size_t i = 0; i < chunks; ++i) {
        float dot = 0;
        for (int d = 0; d < dim; ++d) dot += qvec[q * dim + d] * vectors[i * dim + d];
        scored[i] = {-dot, static_cast<uint32_t>(i)};
      }
      std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
      for (size_t i = 0; i < k; ++i) truth[q].insert(scored[i].second);
    }
  };
  std::thread helper(brute, 1, 2);
  brute(0, 2);
  helper.join();

  std::printf("\n  %-34s %12s %-10s %s\n", "figure", "value", "unit", "target");
  Figure("embed, one core", embed_rate, "chunks/s", ">= 5000", embed_rate >= 5000);
  Figure("embed in build (threads)", report->embed_chunks_per_second, "chunks/s", "-", true);
  Figure("hnsw build", report->hnsw_seconds, "s", "-", true);
  Figure("whole build (embed+hnsw+write)", build_total, "s", "-", true);
  Figure("open (quick verify)", open_quick * 1000, "ms", "O(1)", true);
  Figure("open (full verify, checksums)", open_full * 1000, "ms", "-", full_ok);

  size_t chosen_ef = 0;
  for (size_t ef : {32, 64, 128, 256, 512}) {
    (*snap)->SetEfSearch(ef);
    size_t found = 0;
    std::vector<double> lat;
    for (size_t q = 0; q < queries; ++q) {
      std::vector<folio::VectorHit> hits;
      Clock::time_point s = Clock::now();
      (void)(*snap)->graph().Search(&qvec[q * dim], k, &hits);
      lat.push_back(Since(s) * 1000);
      for (const auto& h : hits) found += truth[q].count(h.label);
    }
    double recall = static_cast<double>(found) / (queries * k);
    char what[64];
    std::snprintf(what, sizeof(what), "hnsw recall@10, ef %zu (p50 %.2f ms)", ef, Percentile(lat, 0.5));
    Figure(what, recall, "", ">= 0.95", recall >= 0.95);
    if (chosen_ef == 0 && recall >= 0.95) chosen_ef = ef;
  }
  if (chosen_ef == 0) chosen_ef = 512;

  (*snap)->SetEfSearch(chosen_ef);
  std::vector<double> lat, lat_embed;
  for (size_t q = 0; q < queries; ++q) {
    Clock::time_point s = Clock::now();
    auto v = embedder->Embed(qtext[q]);
    Clock::time_point s2 = Clock::now();
    folio::SearchOptions options;  // weighted as an index of a learned embedder is: the graph searched
    options.k = 10;
    options.fusion = folio::FusionWeights{};
    auto hits = (*snap)->Search(qtext[q], *v, options);
    lat.push_back(Since(s2) * 1000);
    lat_embed.push_back(std::chrono::duration<double>(s2 - s).count() * 1000);
    if (!hits.ok() || hits->empty()) std::fprintf(stderr, "query %zu: no hits\n", q);
  }
  char what[64];
  std::snprintf(what, sizeof(what), "hybrid top-10 p50 (ef %zu)", chosen_ef);
  Figure(what, Percentile(lat, 0.5), "ms", "<= 1", Percentile(lat, 0.5) <= 1.0);
  std::snprintf(what, sizeof(what), "hybrid top-10 p99 (ef %zu)", chosen_ef);
  Figure(what, Percentile(lat, 0.99), "ms", "<= 3", Percentile(lat, 0.99) <= 3.0);
  Figure("query embed p50", Percentile(lat_embed, 0.5), "ms", "-", true);

  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
