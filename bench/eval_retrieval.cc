// eval_retrieval: retrieval quality of folio's index on a question set
// (bench/eval/questions.json against kb/). Builds an index into a temp
// directory with the given chunking/embedder options, then reports, for hybrid,
// vector-only and keyword-only search: hit@1, hit@3, hit@5 (a hit when a listed
// source file is among the top-k distinct files) and MRR. A plain main; links
// folio_shared.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "index_snapshot.h"
#include "index_writer.h"

namespace {

struct Question {
  std::string text;
  std::vector<std::string> sources;
};

std::vector<Question> LoadQuestions(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  std::vector<Question> out;
  if (!j.is_array()) return out;
  for (const auto& q : j) {
    if (!q.is_object() || !q.contains("question") || !q["question"].is_string()) continue;
    Question item{q["question"].get<std::string>(), {}};
    if (q.contains("sources") && q["sources"].is_array()) {
      for (const auto& s : q["sources"]) {
        if (s.is_string()) item.sources.push_back(s.get<std::string>());
      }
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"eval_retrieval: hit@k of folio retrieval on a question set"};
  std::string kb = "kb", questions_path = "bench/eval/questions.json";
  folio::IndexBuildOptions opt;
  bool no_idf = false, verbose = false;
  app.add_option("--kb", kb);
  app.add_option("--questions", questions_path);
  app.add_option("--chunk-tokens", opt.chunking.target_tokens);
  app.add_option("--overlap", opt.chunking.overlap_tokens);
  app.add_option("--dim", opt.dimension);
  app.add_flag("--no-idf", no_idf);
  app.add_flag("-v,--verbose", verbose, "print each missed question");
  CLI11_PARSE(app, argc, argv);
  opt.idf = !no_idf;

  std::vector<Question> questions = LoadQuestions(questions_path);
  if (questions.empty()) {
    std::fprintf(stderr, "no questions in %s\n", questions_path.c_str());
    return 1;
  }
  char tmpl[] = "/tmp/folio-eval-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  std::string out = std::string(tmpl) + "/index";
  folio::Result<folio::BuildReport> report = folio::BuildIndex(kb, out, opt);
  if (!report.ok()) {
    std::fprintf(stderr, "build: %s\n", report.status().ToString().c_str());
    return 1;
  }
  auto snap = folio::IndexSnapshot::Open(out);
  if (!snap.ok()) {
    std::fprintf(stderr, "open: %s\n", snap.status().ToString().c_str());
    return 1;
  }
  auto embedder = (*snap)->MakeQueryEmbedder();
  if (!embedder.ok()) return 1;
  std::printf("chunks %llu (target %zu, overlap %zu), embedder %s, %zu questions\n",
              static_cast<unsigned long long>(report->manifest.chunks), opt.chunking.target_tokens,
              opt.chunking.overlap_tokens, report->manifest.embedder.c_str(), questions.size());
  const char* modes[] = {"hybrid", "vector", "keyword"};
  for (int mode = 0; mode < 3; ++mode) {
    double hit1 = 0, hit3 = 0, hit5 = 0, mrr = 0;
    for (const Question& q : questions) {
      auto vec = (*embedder)->Embed(q.text);
      std::vector<float> v = mode == 2 ? std::vector<float>{} : *vec;
      std::string text = mode == 1 ? "" : q.text;
      auto hits = (*snap)->Search(text, v, folio::SearchOptions{5, true});
      int rank = 0;
      for (size_t i = 0; hits.ok() && i < hits->size() && rank == 0; ++i) {
        for (const std::string& s : q.sources) {
          if ((*hits)[i].source == s) rank = static_cast<int>(i) + 1;
        }
      }
      hit1 += rank == 1;
      hit3 += rank >= 1 && rank <= 3;
      hit5 += rank >= 1;
      mrr += rank ? 1.0 / rank : 0;
      if (verbose && mode == 0 && rank != 1) {
        std::printf("  rank %d: %s -> want %s, got %s\n", rank, q.text.c_str(), q.sources[0].c_str(),
                    hits.ok() && !hits->empty() ? std::string((*hits)[0].source).c_str() : "-");
      }
    }
    double n = static_cast<double>(questions.size());
    std::printf("%-8s hit@1 %.3f  hit@3 %.3f  hit@5 %.3f  MRR %.3f\n", modes[mode], hit1 / n, hit3 / n, hit5 / n,
                mrr / n);
  }
  std::filesystem::remove_all(tmpl);
  return 0;
}
