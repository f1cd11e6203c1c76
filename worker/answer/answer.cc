// answer.cc: the question → answer pipeline.
#include "answer.h"

#include "extractive_answer.h"
#include "log.h"

namespace folio {

namespace {

// Sections of each passage's document the offline answer may quote besides
// the passage itself (bench/eval-retrieval: "correct" on the sample KB
// rose from 0.72 with none to NN with 8).
constexpr size_t kRelatedSections = 8;

// A degraded answer, streamed line by line so the client sees the same
// event sequence as for an LLM answer.
bool StreamText(const std::string& text, const DeltaFn& on_delta) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    if (!on_delta(std::string_view(text).substr(start, end - start))) return false;
    start = end;
  }
  return true;
}

// Upstream calls, errors, retries, tokens and their estimated cost.
void CountUpstream(App& app, const Result<LlmResult>& llm, std::chrono::steady_clock::duration took) {
  Metrics& m = *app.metrics;
  if (!llm.ok()) {
    const Status& why = llm.status();  // no call was made for these
    if (why.Is(Reason::kLlmNotConfigured) || why.Is(Reason::kBreakerOpen) || why.Is(Reason::kCancelled) ||
        why.Is(Reason::kBudgetExhausted))
      return;
    m.Add(Counter::kUpstreamCalls);
    m.Add(Counter::kUpstreamErrors);
    return;
  }
  m.Add(Counter::kUpstreamCalls, llm->attempts);
  m.Add(Counter::kUpstreamRetries, llm->attempts - 1);
  m.ObserveUpstream(std::chrono::duration<double>(took).count());
  m.Add(Counter::kPromptTokens, llm->prompt_tokens);
  m.Add(Counter::kCompletionTokens, llm->completion_tokens);
  int64_t cost = (int64_t{llm->prompt_tokens} * app.settings.llm_price_prompt_udollars_per_mtok +
                  int64_t{llm->completion_tokens} * app.settings.llm_price_completion_udollars_per_mtok) /
                 1000000;
  m.Add(Counter::kCostMicroDollars, cost);
}

}  // namespace

Deadline RequestDeadline(const App& app, SteadyTime received_at) {
  return Deadline(received_at + std::chrono::seconds(app.settings.request_timeout_s));
}

Result<std::vector<SearchHit>> SearchIndex(const ServingIndex::Current& kb, std::string_view query, size_t k) {
  SearchOptions options;
  options.k = k;
  // No embedder (an index without vectors), or a failed embedding (a remote
  // embedder down): keyword search alone.
  Result<std::vector<float>> vector = std::vector<float>{};
  if (kb.embedder) vector = kb.embedder->Embed(query);
  std::span<const float> query_vector;
  if (vector.ok()) query_vector = *vector;
  else LogWarn("query_embedding_failed", {{"reason", vector.status().error()}});
  return kb.index->Search(query, query_vector, options);
}

std::vector<Passage> Retrieve(App& app, std::string_view question) {
  ServingIndex::Current kb = app.index.Get();
  if (!kb.index) return {};
  Result<std::vector<SearchHit>> hits =
      SearchIndex(kb, question, static_cast<size_t>(app.settings.max_retrieval_docs));
  if (!hits.ok()) return {};
  return kb.index->PassagesFor(*hits, kRelatedSections);
}

Result<ChatOutput> Answer(App& app, const ChatInput& input, std::vector<Passage> sources, const DeltaFn& on_delta,
                          bool client_streaming) {
  ChatOutput out;
  out.sources = std::move(sources);
  Deadline deadline = RequestDeadline(app, input.received_at);

  PromptBudgets budgets;
  budgets.context_tokens = static_cast<size_t>(app.settings.max_tokens_context);
  budgets.history_tokens = static_cast<size_t>(app.settings.max_tokens_history);
  budgets.response_tokens = static_cast<size_t>(app.settings.max_tokens_response);
  budgets.max_passages = static_cast<size_t>(app.settings.max_retrieval_docs);
  Prompt prompt = BuildPrompt(app.system_prompt, out.sources, input.history, input.message, budgets);

  auto call_start = std::chrono::steady_clock::now();
  LlmCallContext ctx;
  ctx.request_id = input.request_id;
  ctx.breaker = app.breaker.get();
  ctx.on_delta = on_delta;
  bool delivered = false;
  if (on_delta) ctx.on_delta = [&](std::string_view d) { delivered = true; return on_delta(d); };
  // The day's token budget (LLM_DAILY_TOKEN_BUDGET), over every process:
  // once spent, answers come from the knowledge base until UTC midnight.
  const bool budget_spent = app.limits && app.llm->configured() && app.limits->TokenBudgetSpent(UnixMsCoarse());
  if (budget_spent) app.metrics->Add(Counter::kBudgetRefusals);
  Result<LlmResult> llm =
      budget_spent ? Result<LlmResult>(Unavailable(Reason::kBudgetExhausted, "the day's LLM token budget is spent"))
                   : app.llm->Complete(prompt.messages, static_cast<int>(budgets.response_tokens), deadline, ctx);
  CountUpstream(app, llm, std::chrono::steady_clock::now() - call_start);
  if (llm.ok() && app.limits) app.limits->SpendTokens(int64_t{llm->prompt_tokens} + llm->completion_tokens, UnixMsCoarse());
  if (llm.ok()) {
    out.text = std::move(llm->text);
    out.prompt_tokens = llm->prompt_tokens;
    out.completion_tokens = llm->completion_tokens;
    if (!out.text.empty()) return out;
  }
  const Status& why = llm.ok() ? Status(Code::kUnavailable, "upstream_empty", "the LLM answered nothing") : llm.status();
  if (why.code() == Code::kDeadlineExceeded)
    return DeadlineExceeded(Reason::kTimeout, "The answer took longer than " + std::to_string(app.settings.request_timeout_s) + " s.");
  if (why.Is(Reason::kCancelled)) return why;
  if (delivered && client_streaming)  // part of an LLM answer reached the client: no fallback after it
    return Unavailable("upstream_stream_broken", "The AI service stopped in the middle of the answer.");

  return AnswerFromPassages(app, input, std::move(out.sources), why, on_delta);
}

Result<ChatOutput> AnswerFromPassages(App& app, const ChatInput& input, std::vector<Passage> sources,
                                      const Status& why, const DeltaFn& on_delta) {
  if (!why.Is(Reason::kLlmNotConfigured) && !why.Is(Reason::kBudgetExhausted))  // neither is news per request
    LogWarn("chat_degraded", {{"request_id", input.request_id}, {"reason", why.error()}});
  app.metrics->Add(Counter::kDegradedAnswers);
  ChatOutput out;
  out.sources = std::move(sources);
  out.degraded = true;
  out.degraded_reason = why.error();
  out.text = ComposeExtractiveAnswer(input.message, out.sources, FallbackReasonFor(why.reason())).text;
  if (on_delta && !StreamText(out.text, on_delta)) return Unavailable(Reason::kCancelled, "the client went away");
  return out;
}

}  // namespace folio
