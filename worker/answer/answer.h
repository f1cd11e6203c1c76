// answer.h: answering one question — retrieve passages, build the prompt
// within its budgets, ask the LLM (streamed or not), fall back to a degraded
// answer from the passages when the LLM is not there — shared by POST
// /api/chat and POST /v1/chat/completions. Safe from any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "app.h"
#include "prompt.h"

namespace folio {

struct ChatInput {
  std::string message;               // the question (validated by the caller)
  std::vector<ChatMessage> history;  // earlier turns, oldest first
  std::string request_id;
  SteadyTime received_at;
};

struct ChatOutput {
  std::string text;
  std::vector<Passage> sources;
  bool degraded = false;        // not an LLM answer (composed from the passages)
  std::string degraded_reason;  // Status token of why (llm_not_configured, breaker_open, …)
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// Called with each piece of the answer as it is produced; returns false
// when the client has gone away (the upstream call is then cancelled).
using DeltaFn = std::function<bool(std::string_view)>;

// Hybrid search of the index in service: BM25 and the query's vector,
// fused; keyword search alone when the embedder fails (logged). May wait on
// the network when kb.embedder->remote().
Result<std::vector<SearchHit>> SearchIndex(const ServingIndex::Current& kb, std::string_view query, size_t k);

// The passages for `question` (at most MAX_RETRIEVAL_DOCS). An empty list
// when the index is not available: the answer then says so.
std::vector<Passage> Retrieve(App& app, std::string_view question);

// Answers with `sources` already retrieved. With on_delta set the answer is
// streamed through it (a degraded answer too). `client_streaming` says
// whether those deltas reach a client as they come: then an upstream stream
// that breaks after its first token cannot be patched with a fallback and
// is Unavailable("upstream_stream_broken"); otherwise (the deltas only feed
// the in-flight table) the fallback replaces it. Other errors:
// DeadlineExceeded ("timeout", past REQUEST_TIMEOUT_S) and
// Unavailable("cancelled") when the client went away; every other upstream
// failure becomes a degraded answer.
Result<ChatOutput> Answer(App& app, const ChatInput& input, std::vector<Passage> sources, const DeltaFn& on_delta,
                          bool client_streaming);

// The degraded answer: composed from `sources` without the LLM, marked
// degraded with `why`'s error token as its reason (streamed through
// on_delta when set). Unavailable("cancelled") if the client went away.
Result<ChatOutput> AnswerFromPassages(App& app, const ChatInput& input, std::vector<Passage> sources,
                                      const Status& why, const DeltaFn& on_delta);

// The request's deadline: arrival + REQUEST_TIMEOUT_S.
Deadline RequestDeadline(const App& app, SteadyTime received_at);


}  // namespace folio
