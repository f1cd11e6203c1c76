// coalesced_answer.h: an answer that the whole pool pays for once. In front
// of answer.h's Answer(): canned replies for greetings and thanks, the shared
// response cache (a hit touches neither the LLM nor the index), the
// per-client budget for LLM-calling requests, and cross-process coalescing
// (identical concurrent questions make one upstream call; followers stream
// the leader's text as it arrives). Safe from any thread of any process.
#pragma once

#include "answer.h"
#include "request.h"

namespace folio {

struct SharedAnswer {
  ChatOutput output;       // a cache hit's holds only its text until ExpandCached()
  bool cached = false;     // served from the response cache
  bool coalesced = false;  // another request's upstream call answered it
  std::string record;      // a cache hit's stored record, as it is sent (answer_record.h)
};

// What canned replies and the cache know of a question, without waiting on
// anything: the answer if they have one (a cache hit keeps its record, not
// decoded), and the cache key either way. Counts the cache hit or miss.
// Cheap enough for an accept thread (microseconds: one LMDB read).
struct MemoryLookup {
  std::string key;
  std::optional<SharedAnswer> answer;
};
MemoryLookup LookUpInMemory(App& app, const ChatInput& input);

// A cache hit's sources and usage decoded from its record (a stream and /v1
// need them as values); any other answer is left as it is.
void ExpandCached(SharedAnswer* answer);

// The answer to a question memory did not have (`key`: its cache key from
// LookUpInMemory): the per-client budget of LLM calls, then the in-flight
// table — lead (Answer(), then publish and cache) or follow another
// request's answer. On error: ResourceExhausted (429, *retry_after_s set),
// Unavailable "shed" (503, *retry_after_s set), DeadlineExceeded (504),
// Unavailable "cancelled". on_sources (optional) is called once with the
// passages the answer rests on, before the first delta: a stream's meta
// event carries them.
using SourcesFn = std::function<bool(const std::vector<Passage>&)>;
Result<SharedAnswer> AnswerShared(App& app, const ChatInput& input, const std::string& key,
                                  const std::string& client_id, const DeltaFn& on_delta, int* retry_after_s,
                                  const SourcesFn& on_sources = nullptr);

// A known answer (from LookUpInMemory) told through on_sources and on_delta
// as AnswerShared tells one. Unavailable "cancelled" if the client went away.
Result<SharedAnswer> ReplayKnown(SharedAnswer known, const DeltaFn& on_delta, const SourcesFn& on_sources);

// LookUpInMemory, then ReplayKnown or AnswerShared: a question from start
// to answer, on a thread that may wait (/v1/chat/completions).
Result<SharedAnswer> AnswerFromAnywhere(App& app, const ChatInput& input, const std::string& client_id,
                                        const DeltaFn& on_delta, int* retry_after_s,
                                        const SourcesFn& on_sources = nullptr);

// Sends `text` to on_delta in a few UTF-8-safe pieces, as a stream replays a
// cached or coalesced answer. false once on_delta refuses (client gone).
bool StreamText(std::string_view text, const DeltaFn& on_delta);

// A passage as a visitor reads it beside an answer (and as the cache keeps
// it): at most kMaxPassageChars characters, cut after a whole word with "…"
// when longer. Idempotent. 1,200 characters hold any chunk of the default
// chunking (200 estimated tokens), so cuts are rare.
inline constexpr size_t kMaxPassageChars = 1200;
std::string PassageExcerpt(std::string_view text);

// The client a limit counts against: request.client_id when the access
// check set it (a key found in API_KEYS_FILE: "key:" + 16 hex digits of its
// SHA-256), else "ip:" + the address nginx saw (ClientAddressKey: an IPv6
// client by its /64). An unverified key never names a client, nor does an
// X-Forwarded-For that no TRUSTED_PROXIES entry wrote (nginx's realip).
std::string ClientIdOf(const Request& request);

}  // namespace folio
