// eval_lib.h: the retrieval and answer evaluation behind bench/eval-retrieval
// and the sample-KB answer test. An Evaluation builds an index of a KB in a
// temporary directory (removed with it), then asks each question two ways —
// plain BM25 over the chunks (the baseline) and folio's own search — and
// checks the offline answer composed from each ranking's passages.
// Not thread-safe; one per run.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bm25_index.h"
#include "embedder.h"
#include "extractive_answer.h"
#include "index_snapshot.h"
#include "index_writer.h"
#include "status.h"

namespace folio {

struct EvalQuestion {
  std::string text;
  std::string kind;                  // "keyword" or "paraphrase"
  std::string split;                 // "tune" or "test"
  std::vector<std::string> sources;  // files (relative to the KB) that answer it; any one suffices
  std::vector<std::string> expect;   // short facts; the answer is correct if it contains one (may be empty)
};

// Reads a JSON array of {"question", "kind", "split", "sources", "expect"?}.
// InvalidArgument if the file is unreadable, not such an array, or a
// question has no sources.
Result<std::vector<EvalQuestion>> LoadEvalQuestions(const std::string& path);

// What one ranking gave for one question.
struct RankedAnswer {
  int rank = 0;         // 1-based rank of the first relevant file among the top 5 distinct files; 0 if none
  std::string answer;   // the offline answer composed from the top passages
  bool supported = false, clean = false, correct = false;
  std::string debris;   // what made it unclean
};

// "clean": no Markdown, reST or AsciiDoc debris left in `answer` (emphasis
// markers, backticks, link syntax, table pipes, heading hashes, quotation
// markers, HTML tags, rule lines, AsciiDoc attributes). On failure *debris
// names the first one found.
bool AnswerIsClean(std::string_view answer, std::string* debris);

// "correct": the answer contains one of q.expect (case-insensitive).
// False when q.expect is empty.
bool AnswerIsCorrect(std::string_view answer, const EvalQuestion& q);

class Evaluation {
 public:
  // Builds the index of `kb_dir` with `options` (folio-ingest's defaults if
  // none), and a plain BM25 index of the same chunks (heading and text once,
  // the light stemmer, k1 1.2, b 0.75: folio's keyword search before the
  // changes this evaluation measures).
  static Result<std::unique_ptr<Evaluation>> Open(const std::string& kb_dir, const IndexBuildOptions& options);
  ~Evaluation();

  // Weighs folio's rankings with `w` instead of the index embedder's weights.
  void SetFusion(const FusionWeights& w) { fusion_ = w; }
  // Combines the keyword evidence with `w` instead of the shipped weights.
  void SetKeywordWeights(const KeywordWeights& w) { keyword_ = w; }

  RankedAnswer Bm25(const EvalQuestion& q) const;
  RankedAnswer Folio(const EvalQuestion& q) const;

  const IndexManifest& manifest() const { return index_->manifest(); }
  // How long each Folio() call's IndexSnapshot::Search took, in ms.
  const std::vector<double>& search_ms() const { return search_ms_; }
  // Answers are composed from this many passages, as the worker does by default.
  static constexpr size_t kAnswerPassages = 3;
  // ... each with this many other sections of its document (as the worker).
  static constexpr size_t kRelatedSections = 8;

 private:
  Evaluation() = default;
  // The rank and answer checks for passages of distinct files, best first.
  RankedAnswer Judge(const EvalQuestion& q, const std::vector<Passage>& top) const;
  // "supported": a citation [n] names a relevant file and the text it
  // follows is quoted from that file (every word of it occurs there).
  bool Supported(const ExtractiveAnswer& a, const std::vector<Passage>& passages, const EvalQuestion& q) const;

  std::optional<FusionWeights> fusion_;
  KeywordWeights keyword_;
  mutable std::vector<double> search_ms_;
  std::string temp_dir_;
  std::shared_ptr<IndexSnapshot> index_;
  std::unique_ptr<Embedder> embedder_;  // null when the index has no vectors
  std::unique_ptr<Bm25Index> plain_;
  std::map<std::string, std::vector<std::string>, std::less<>> file_words_;  // source -> sorted distinct words
};

}  // namespace folio
