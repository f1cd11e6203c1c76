// eval-retrieval: retrieval and offline-answer quality of folio on a question
// set, next to plain BM25 in the same run. Builds an index of --kb in a
// temporary directory, asks every question of --questions both ways, and
// prints, per split (tune, test) and kind (keyword, paraphrase):
// recall@1/3/5 (a relevant file among the top k distinct files), MRR, and
// the offline answer checks (supported, clean, and correct where the set has
// expected facts). bench/eval_answers.sh runs it on both sets.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "eval_lib.h"

namespace {

struct Tally {
  int n = 0, r1 = 0, r3 = 0, r5 = 0, supported = 0, clean = 0, correct = 0, with_expect = 0;
  double mrr = 0;
  void Add(const folio::RankedAnswer& a, bool has_expect) {
    ++n;
    r1 += a.rank == 1;
    r3 += a.rank >= 1 && a.rank <= 3;
    r5 += a.rank >= 1;
    mrr += a.rank ? 1.0 / a.rank : 0;
    supported += a.supported;
    clean += a.clean;
    if (has_expect) {
      ++with_expect;
      correct += a.correct;
    }
  }
};

std::string Ratio(int a, int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", n ? static_cast<double>(a) / n : 0.0);
  return buf;
}

void PrintRow(const char* split, const char* kind, const char* method, const Tally& t) {
  char mrr[16];
  std::snprintf(mrr, sizeof mrr, "%.3f", t.n ? t.mrr / t.n : 0.0);
  std::printf("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", split, kind, method, t.n, Ratio(t.r1, t.n).c_str(),
              Ratio(t.r3, t.n).c_str(), Ratio(t.r5, t.n).c_str(), mrr, Ratio(t.supported, t.n).c_str(),
              Ratio(t.clean, t.n).c_str(), t.with_expect ? Ratio(t.correct, t.with_expect).c_str() : "—");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"eval-retrieval: recall, MRR and offline-answer checks of folio against plain BM25"};
  std::string kb = "kb", questions_path = "bench/eval/questions.json";
  folio::IndexBuildOptions opt;
  int verbose = 0, show_answers = 0;
  app.add_option("--kb", kb, "knowledge-base directory")->capture_default_str();
  app.add_option("--questions", questions_path, "question set (JSON)")->capture_default_str();
  app.add_option("--chunk-tokens", opt.chunking.target_tokens)->capture_default_str();
  app.add_option("--overlap", opt.chunking.overlap_tokens)->capture_default_str();
  app.add_option("--dim", opt.dimension)->capture_default_str();
  app.add_option("--embedder", opt.embedder_kind)->capture_default_str();
  opt.threads = 1;  // one thread builds the same HNSW graph every run: figures repeat exactly
  app.add_option("--threads", opt.threads, "threads for embedding and the HNSW build (more: faster, not repeatable)")->capture_default_str();
  app.add_option("--heading-weight", opt.heading_weight, "times a chunk's heading counts in BM25")->capture_default_str();
  double vector_weight = -1;
  folio::KeywordWeights keyword;
  app.add_option("--vector-weight", vector_weight, "weight of the vector ranking against the keyword ranking's 1 (default: the embedder's)");
  app.add_option("--second-chunk-weight", keyword.second_chunk, "keyword evidence: a document's second-best chunk")->capture_default_str();
  app.add_option("--document-weight", keyword.document, "keyword evidence: BM25 over the whole document")->capture_default_str();
  app.add_option("--anchor-weight", keyword.anchors, "keyword evidence: BM25 over the document's anchor text")->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "print each question folio ranks below 1 or answers unsupported (-vv: every answer)");
  app.add_option("--show-answers", show_answers, "print folio's answer to the first N test questions");
  CLI11_PARSE(app, argc, argv);
  // A vector ranking weighed in needs the vectors, whatever the embedder's own weight.
  if (vector_weight > 0) opt.vectors = folio::IndexBuildOptions::Vectors::kAlways;

  folio::Result<std::vector<folio::EvalQuestion>> questions = folio::LoadEvalQuestions(questions_path);
  if (!questions.ok()) {
    std::fprintf(stderr, "eval-retrieval: %s\n", questions.status().ToString().c_str());
    return 1;
  }
  folio::Result<std::unique_ptr<folio::Evaluation>> eval = folio::Evaluation::Open(kb, opt);
  if (!eval.ok()) {
    std::fprintf(stderr, "eval-retrieval: %s\n", eval.status().ToString().c_str());
    return 1;
  }
  if (vector_weight >= 0) {
    folio::FusionWeights w = folio::FusionWeightsFor(opt.embedder_kind);
    w.vector = vector_weight;
    (*eval)->SetFusion(w);
  }
  (*eval)->SetKeywordWeights(keyword);
  const folio::IndexManifest& m = (*eval)->manifest();
  std::printf("%s: %llu files, %llu chunks, embedder %s; %zu questions from %s\n\n", kb.c_str(),
              static_cast<unsigned long long>(m.documents), static_cast<unsigned long long>(m.chunks),
              m.embedder.c_str(), questions->size(), questions_path.c_str());

  // tallies[split][kind][method]; split and kind "all" aggregate.
  std::map<std::string, std::map<std::string, std::map<std::string, Tally>>> tallies;
  int shown = 0;
  std::vector<double> took_ms;  // folio: embed, search, passages, answer
  for (const folio::EvalQuestion& q : *questions) {
    folio::RankedAnswer bm25 = (*eval)->Bm25(q);
    auto started = std::chrono::steady_clock::now();
    folio::RankedAnswer folio_answer = (*eval)->Folio(q);
    took_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    for (const std::string& split : {q.split, std::string("all")}) {
      for (const std::string& kind : {q.kind, std::string("all")}) {
        tallies[split][kind]["BM25"].Add(bm25, !q.expect.empty());
        tallies[split][kind]["folio"].Add(folio_answer, !q.expect.empty());
      }
    }
    bool miss = folio_answer.rank != 1 || !folio_answer.supported || !folio_answer.clean ||
                (!q.expect.empty() && !folio_answer.correct);
    if (verbose >= 2 || (verbose && miss)) {
      std::printf("[%s %s] %s\n  want %s; rank folio %d, BM25 %d;%s%s%s\n  %s\n\n", q.split.c_str(), q.kind.c_str(),
                  q.text.c_str(), q.sources[0].c_str(), folio_answer.rank, bm25.rank,
                  folio_answer.supported ? "" : " unsupported", folio_answer.clean ? "" : (" debris " + folio_answer.debris).c_str(),
                  q.expect.empty() || folio_answer.correct ? "" : " incorrect", folio_answer.answer.c_str());
    }
    if (q.split == "test" && shown < show_answers) {
      ++shown;
      std::printf("> %s\n\n%s\n\n", q.text.c_str(), folio_answer.answer.c_str());
    }
  }
  auto percentiles = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return std::make_pair(v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)]);
  };
  auto [search_p50, search_p99] = percentiles((*eval)->search_ms());
  auto [all_p50, all_p99] = percentiles(took_ms);
  std::printf("folio, one thread: search p50 %.2f ms, p99 %.2f ms; with the passages and the offline answer p50 %.2f ms, p99 %.2f ms\n\n",
              search_p50, search_p99, all_p50, all_p99);
  std::printf("| split | kind | ranking | n | recall@1 | recall@3 | recall@5 | MRR | supported | clean | correct |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const char* split : {"test", "tune", "all"}) {
    for (const char* kind : {"paraphrase", "keyword", "all"}) {
      auto s = tallies.find(split);
      if (s == tallies.end() || !s->second.count(kind)) continue;
      for (const char* method : {"BM25", "folio"}) PrintRow(split, kind, method, s->second[kind][method]);
    }
  }
  return 0;
}
