// cache_key.h: the key of a cached answer, which names everything the
// answer depends on, so that no question is ever served another's answer.
// Pure functions; safe from any thread.
//
// The cache key, exactly: "c1:" + 32 lowercase hex digits of XXH3-128 over
//   "folio-cache" and then, each as u64-LE length + bytes, in this order:
//   1. normalized_message: NormalizeMessage(question). Spelling noise (case,
//      spaces, a trailing "?", quotes) must not split one question into many.
//   2. intent: IntentName(...). Intents may route answers differently (canned
//      replies, retrieval filters), and a change of intent rules must not serve
//      an answer routed under the old ones.
//   3. history_digest: HistoryDigest(messages the prompt actually includes),
//      or kEmptyHistoryDigest. "And her email?" means something else in every
//      conversation: a follow-up is only ever served an answer produced for the
//      same preceding messages, never another conversation's.
//   4. model: the LLM model id (and any sampling setting that changes answers).
//   5. prompt_version: PromptVersion() of the system prompt and template, plus
//      any retrieval setting the caller wants to invalidate on (top-k, budgets).
//   6. kb_version: the index manifest's kb_version. A re-ingest changes it, so
//      no answer built from the old knowledge base is served after a re-ingest.
// Deliberately absent: stream vs non-stream (the cached payload is the final
// answer, which either mode renders, so both share entries), session id,
// client address, time. Bump the "c1" prefix whenever this composition
// changes: old entries then simply miss and age out.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "prompt.h"

namespace folio {

// ASCII letters lowercased (other bytes untouched, so UTF-8 stays valid);
// whitespace runs (ASCII and no-break space) collapsed to one space; trimmed;
// then, until nothing changes, trailing ? ! . … and a pair of surrounding
// quotes ("", '', ``, “”, ‘’, «») removed. "  What is   \"Tollgate\"?! " →
// "what is \"tollgate\"". "" means nothing is left: do not cache such a message.
std::string NormalizeMessage(std::string_view message);

// What HistoryDigest returns for no history.
inline constexpr char kEmptyHistoryDigest[] = "none";

// XXH3-128 of each message's role and content (length-prefixed, in order) as 32
// hex digits; kEmptyHistoryDigest if `history` is empty. Pass exactly the
// messages the prompt includes: older turns trimmed by the history budget do
// not change the answer and should not split the cache.
std::string HistoryDigest(std::span<const ChatMessage> history);

struct CacheKeyParts {
  std::string_view normalized_message;  // NormalizeMessage(question)
  std::string_view intent;              // IntentName(intent)
  std::string_view history_digest;      // HistoryDigest(...)
  std::string_view model;
  std::string_view prompt_version;
  std::string_view kb_version;
};

// "c1:" + 32 hex digits (35 bytes); see the top of this file.
std::string CacheKey(const CacheKeyParts& parts);

}  // namespace folio
