// shared_answer.h: an answer that the whole pool pays for once. In front of
// chat.h's Answer(): canned replies for greetings and thanks, the shared
// response cache (a hit touches neither the LLM nor the index), the
// per-client budget for LLM-calling requests, and cross-process coalescing
// (identical concurrent questions make one upstream call; followers stream
// the leader's text as it arrives). Safe from any thread of any process.
#pragma once

#include "answer.h"
#include "request.h"

namespace folio {

struct SharedAnswer {
  ChatOutput output;
  bool cached = false;     // served from the response cache
  bool coalesced = false;  // another request's upstream call answered it
};

// On error: ResourceExhausted (429, *retry_after_s set), Unavailable "shed"
// (503, *retry_after_s set), DeadlineExceeded (504), Unavailable "cancelled".
// on_sources (optional) is called once with the passages the answer rests
// on, before the first delta: a stream's meta event carries them.
using SourcesFn = std::function<bool(const std::vector<Passage>&)>;
Result<SharedAnswer> AnswerShared(App& app, const ChatInput& input, const std::string& client_id,
                                  const DeltaFn& on_delta, int* retry_after_s, const SourcesFn& on_sources = nullptr);

// The answer when it needs neither the LLM nor a wait: a canned reply or a
// cache hit (counted as a hit). nullopt otherwise, with nothing counted:
// AnswerShared() looks again and counts the miss. Cheap enough for an
// accept thread (microseconds: one LMDB read).
std::optional<SharedAnswer> AnswerFromMemory(App& app, const ChatInput& input);

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
