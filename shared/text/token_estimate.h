// token_estimate.h: a tokenizer-free estimate of how many LLM tokens a text
// costs, used for chunk sizes at ingest and for prompt budgets in the worker.
// Pure function; safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace folio {

// EstimateTokens(text) = max(ceil(4 * words / 3), ceil(ascii_bytes / 4) + non_ascii_chars)
// where words are runs of non-whitespace. Why: BPE tokenizers (cl100k and
// kin) spend ~1.3 tokens per English word and ~4 bytes of ASCII per token;
// code and numbers are denser in bytes than in words, so the larger of the two
// wins. Non-ASCII characters (CJK, Cyrillic, emoji) cost about one token or
// more each, so each counts as one. Errs high on ordinary prose (~5-15 %),
// which is the safe side for a prompt budget. Empty or all-space text is 0.
size_t EstimateTokens(std::string_view text);

}  // namespace folio
