// answer_eval_test.cc: the sample KB answered offline, end to end. The index
// of kb/ is built as folio-ingest builds it, every question of
// bench/eval/questions.json is searched with folio's own ranking and answered
// without an LLM; every answer must be free of markup debris, at least 80 %
// must contain the question's expected fact, and folio's ranking must find
// a relevant file in its top 5 at least as often as plain BM25 does.
#include <gtest/gtest.h>

#include "eval_lib.h"

namespace folio {
namespace {

TEST(SampleKbAnswersTest, OfflineAnswersAreCleanMostlyCorrectAndRankedNoWorseThanBm25) {
  Result<std::vector<EvalQuestion>> questions = LoadEvalQuestions(FOLIO_SOURCE_DIR "/bench/eval/questions.json");
  ASSERT_TRUE(questions.ok()) << questions.status().ToString();
  ASSERT_GE(questions->size(), 70u);
  IndexBuildOptions options;
  options.threads = 1;  // an HNSW graph built by one thread is the same every run
  Result<std::unique_ptr<Evaluation>> eval = Evaluation::Open(FOLIO_SOURCE_DIR "/kb", options);
  ASSERT_TRUE(eval.ok()) << eval.status().ToString();

  int correct = 0, with_expect = 0, folio_top5 = 0, bm25_top5 = 0;
  for (const EvalQuestion& q : *questions) {
    RankedAnswer a = (*eval)->Folio(q);
    EXPECT_TRUE(a.clean) << q.text << "\n  debris: " << a.debris << "\n  " << a.answer;
    if (!q.expect.empty()) {
      ++with_expect;
      correct += a.correct;
    }
    folio_top5 += a.rank > 0;
    bm25_top5 += (*eval)->Bm25(q).rank > 0;
  }
  ASSERT_GT(with_expect, 0);
  EXPECT_GE(static_cast<double>(correct) / with_expect, 0.80) << correct << " of " << with_expect << " correct";
  EXPECT_GE(folio_top5, bm25_top5);
}

}  // namespace
}  // namespace folio
