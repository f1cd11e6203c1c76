// extractive_answer.h: the answer folio gives without an LLM (no model
// configured, the provider failing, the budget spent): a few sentences
// quoted from the retrieved passages that answer the question, markup
// stripped, with numbered citations to the passages they come from.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "prompt.h"
#include "status.h"

namespace folio {

// Why there is no LLM answer; each reason opens the answer with its own words.
enum class FallbackReason {
  kNotConfigured,    // no model configured: the normal offline mode ("From the knowledge base: …")
  kProviderFailing,  // the provider failed, timed out or the breaker is open
  kBudgetExhausted,  // the daily spend ceiling was reached
};

// The fallback for why the LLM gave no answer: kLlmNotConfigured ->
// kNotConfigured, kBudgetExhausted -> kBudgetExhausted, anything else (a
// provider failure) -> kProviderFailing.
FallbackReason FallbackReasonFor(Reason why);
// The same for a stored ChatOutput::degraded_reason token.
FallbackReason FallbackReasonFor(std::string_view degraded_reason);

struct ExtractiveOptions {
  size_t max_sentences = 4;   // quoted units (a sentence, a whole list item, a table row)
  size_t max_chars = 600;     // the quoted text together, citations excluded
};

struct AnswerPart {
  std::string text;   // plain text quoted (or a table row rendered) from the passage
  size_t passage = 0; // index into the passages given: cited as [passage + 1]
};

struct ExtractiveAnswer {
  std::string text;                // the whole answer, as sent
  std::vector<AnswerPart> parts;   // what was quoted, in the order shown; empty if nothing matched
};

// Scores every sentence, list item and table row of `passages` (best
// retrieved first) against the question: the question's terms it covers
// (weighted by how rare they are among the candidates), the terms of the
// headings above it (its section's heading path, a deeper heading inside
// the passage, a table's column names), the rank of its passage and its
// place in its section; then takes the best, the best of each other
// passage that is about the question, and those close to the best that
// say something new (no near-duplicates), in reading order, within the
// options' budget. Each quoted run is followed by [n], n the 1-based
// position of its passage in `passages`, and the answer ends with the
// cited sources. Never empty: with no passage it says nothing was found.
ExtractiveAnswer ComposeExtractiveAnswer(std::string_view question, const std::vector<Passage>& passages,
                                         FallbackReason reason, const ExtractiveOptions& options = {});

}  // namespace folio
