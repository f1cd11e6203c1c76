// coalesced_answer.cc: canned → cache → limits → coalesce → Answer().
//
// Coalescing: the cache key names the question; the first request to Join
// it in the in-flight table (state_backend.h: every process, and on Redis every instance) leads and makes
// the upstream call, heartbeating its lease and publishing its streamed text;
// the others wait (bounded by their own deadline) and answer from the
// leader's result — its degraded fallback too, so a failing provider is not
// asked again by every follower. A leader that dies or lets its lease lapse
// is replaced by one of the waiters (TakeOver). Results linger 5 s.
#include "coalesced_answer.h"

#include "access.h"
#include "answer_record.h"
#include "client_address.h"
#include "log.h"

namespace folio {

std::string PassageExcerpt(std::string_view text) {
  size_t chars = 0, cut = 0, last_space = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars == kMaxPassageChars - 1) cut = i;  // room left for the "…"
    if (++chars > kMaxPassageChars) break;
    if (chars < kMaxPassageChars && (text[i] == ' ' || text[i] == '\n')) last_space = i;
  }
  if (chars <= kMaxPassageChars) return std::string(text);
  if (last_space != std::string_view::npos && last_space > cut / 2) cut = last_space;
  std::string out(text.substr(0, cut));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out + "\u2026";
}

std::string ClientIdOf(const Request& request) {
  if (!request.client_id.empty()) return request.client_id;  // a key CheckAccess verified
  return "ip:" + ClientAddressKey(request.remote_addr);
}

MemoryLookup LookUpInMemory(App& app, const ChatInput& input) {
  MemoryLookup out;
  Intent intent = app.intents ? app.intents->Classify(input.message) : Intent::kOther;
  if (input.history.empty() && app.intents) {
    if (std::optional<std::string> canned = app.intents->CannedReply(intent)) {
      out.answer.emplace();
      out.answer->output.text = *canned;
      return out;
    }
  }
  ServingIndex::Current kb = app.index.Get();
  out.key = CacheKey({NormalizeMessage(input.message), IntentName(intent), HistoryDigest(input.history),
                      app.llm->configured() ? app.llm->model() : "none", app.prompt_version,
                      kb.index ? kb.index->manifest().kb_version : "none"});
  if (!app.cache) return out;
  Result<std::optional<CachedAnswer>> hit = app.cache->Get(out.key, UnixMsCoarse());
  AnswerRecordView view;
  if (hit.ok() && hit->has_value() && ViewAnswerRecord((*hit)->payload, &view)) {
    app.metrics->Add(Counter::kCacheHits);
    out.answer.emplace();
    out.answer->cached = true;
    out.answer->output.text = std::string(view.text);  // what the session stores
    out.answer->record = std::move((*hit)->payload);   // the rest, as it is sent
  } else {
    app.metrics->Add(Counter::kCacheMisses);
  }
  return out;
}

void ExpandCached(SharedAnswer* answer) {
  if (answer->record.empty()) return;
  ChatOutput full;
  if (DecodeAnswerRecord(answer->record, &full)) answer->output = std::move(full);
}

bool StreamText(std::string_view text, const DeltaFn& on_delta) {
  constexpr size_t kPiece = 64;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.size(), at + kPiece);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    if (!on_delta(text.substr(at, end - at))) return false;
    at = end;
  }
  return true;
}


Result<SharedAnswer> ReplayKnown(SharedAnswer known, const DeltaFn& on_delta, const SourcesFn& on_sources) {
  ExpandCached(&known);
  if (on_sources && !on_sources(known.output.sources)) return Unavailable(Reason::kCancelled, "client gone");
  if (on_delta && !StreamText(known.output.text, on_delta)) return Unavailable(Reason::kCancelled, "client gone");
  return known;
}

Result<SharedAnswer> AnswerFromAnywhere(App& app, const ChatInput& input, const std::string& client_id,
                                        const DeltaFn& on_delta, int* retry_after_s, const SourcesFn& on_sources) {
  MemoryLookup memory = LookUpInMemory(app, input);
  if (memory.answer) return ReplayKnown(std::move(*memory.answer), on_delta, on_sources);
  return AnswerShared(app, input, memory.key, client_id, on_delta, retry_after_s, on_sources);
}

Result<SharedAnswer> AnswerShared(App& app, const ChatInput& input, const std::string& key,
                                  const std::string& client_id, const DeltaFn& on_delta, int* retry_after_s,
                                  const SourcesFn& on_sources) {
  SharedAnswer result;
  bool sources_sent = false;
  auto announce = [&](const std::vector<Passage>& sources) {
    if (sources_sent || !on_sources) return true;
    sources_sent = true;
    return on_sources(sources);
  };
  int64_t now = UnixMsCoarse();
  // Only requests that may call the LLM spend the expensive budget.
  if (app.limits && app.llm->configured()) {
    Decision d = app.limits->AdmitExpensive(client_id, now);
    if (!d.allowed) {
      *retry_after_s = d.retry_after_s;
      return ResourceExhausted("rate_limited", "Too many questions from you; retry in " +
                                                   std::to_string(d.retry_after_s) + " s.");
    }
  }
  Deadline deadline = RequestDeadline(app, input.received_at);
  const int64_t lease_ms = app.settings.request_timeout_s * 1000;
  std::string streamed;  // the answer's text already sent to this client
  DeltaFn counted = on_delta ? DeltaFn([&](std::string_view d) { streamed.append(d); return on_delta(d); }) : nullptr;

  for (int round = 0; round < 8; ++round) {
    // The precise clock, the one Wait() judges leases by: with the coarse
    // one (up to a few ms behind), a follower Wait() sent to take over an
    // expired lease could be told to follow it again, round after round.
    Result<InflightRole> role = app.inflight ? app.inflight->Join(key, lease_ms, UnixMs())
                                             : Result<InflightRole>(InflightRole::kLeader);
    if (!role.ok() || *role == InflightRole::kLeader) {
      const bool registered = role.ok() && app.inflight;
      // Leader: the one upstream call for this key.
      UpstreamSlot slot;
      if (app.limits && app.llm->configured()) {
        Deadline slot_deadline = Deadline(std::min(deadline.at(), std::chrono::steady_clock::now() + std::chrono::seconds(5)));
        Result<UpstreamSlot> got = app.limits->AcquireUpstreamSlot(slot_deadline);
        if (!got.ok()) {
          if (registered) (void)app.inflight->Fail(key, ReasonToken(Reason::kShed));
          *retry_after_s = 1;
          return Unavailable(Reason::kShed, "Every upstream slot is busy; retry in a moment.");
        }
        slot = std::move(got.value());
      }
      std::string text_so_far;
      int64_t last_beat = 0;
      DeltaFn leader_delta = nullptr;
      if (counted || registered)
        leader_delta = [&](std::string_view d) {
          text_so_far.append(d);
          int64_t t = UnixMsCoarse();
          if (registered && t - last_beat >= 100) {
            (void)app.inflight->Heartbeat(key, t, text_so_far);
            last_beat = t;
          }
          return counted ? counted(d) : true;
        };
      std::vector<Passage> sources = Retrieve(app, input.message);
      if (!announce(sources)) {
        if (registered) (void)app.inflight->Fail(key, ReasonToken(Reason::kCancelled));
        return Unavailable(Reason::kCancelled, "client gone");
      }
      Result<ChatOutput> out = Answer(app, input, std::move(sources), leader_delta, counted != nullptr);
      if (!out.ok()) {
        if (registered) (void)app.inflight->Fail(key, out.status().error());
        return out.status();
      }
      const std::string record = EncodeAnswerRecord(*out);
      if (registered) (void)app.inflight->Complete(key, record);
      // Degraded answers are never cached: the next asker gets another try at the LLM.
      if (app.cache && !out->degraded) (void)app.cache->Put(key, record, UnixMsCoarse());
      result.output = std::move(out.value());
      return result;
    }
    // Follower: answer from the leader's result, following its text. Its
    // own retrieval (≈ 1 ms) names the sources before the first delta.
    if (on_sources && !sources_sent && !announce(Retrieve(app, input.message)))
      return Unavailable(Reason::kCancelled, "client gone");
    InflightBackend::PartialFn partial = nullptr;
    if (counted) partial = [&](std::string_view d) { (void)counted(d); };
    Result<FollowResult> followed = app.inflight->Wait(key, deadline, std::chrono::milliseconds(5), partial);
    if (!followed.ok()) {
      if (followed.status().code() == Code::kDeadlineExceeded)
        return DeadlineExceeded(Reason::kTimeout, "The answer took longer than the request timeout.");
      return followed.status();
    }
    if (followed->outcome == FollowResult::Outcome::kTakeOver) continue;
    if (followed->outcome == FollowResult::Outcome::kFailed) {
      // The payload is the leader's error token (another process's Status).
      const Status failed =
          StatusFromToken(Code::kUnavailable, followed->payload, "The AI service stopped in the middle of the answer.");
      if (failed.Is(Reason::kCancelled) || failed.Is(Reason::kShed)) continue;  // not our failure: lead
      if (failed.Is(Reason::kTimeout))
        return DeadlineExceeded(Reason::kTimeout, "The answer took longer than the request timeout.");
      // The leader's stream broke after it had sent its client tokens. This
      // client has received none of them (a plain request, or a stream that
      // joined before the first): it gets the degraded answer, as the
      // leader's would have been had it not been streaming — without asking
      // the failing provider again.
      if (streamed.empty()) {
        Result<ChatOutput> fallback =
            AnswerFromPassages(app, input, Retrieve(app, input.message), failed, counted);
        if (!fallback.ok()) return fallback.status();
        result.output = std::move(fallback.value());
        return result;
      }
      return failed;
    }
    if (!DecodeAnswerRecord(followed->payload, &result.output)) continue;
    app.metrics->Add(Counter::kCacheCoalesced);
    app.metrics->Add(Counter::kCacheUpstreamSaved);
    if (app.cache) {
      app.cache->CountCoalesced(1);
      app.cache->CountUpstreamSaved(1);
    }
    result.coalesced = true;
    // The leader's stream broke and a plain leader answered with the
    // fallback instead: what this client already has is not its beginning.
    if (result.output.text.compare(0, streamed.size(), streamed) != 0)
      return Unavailable("upstream_stream_broken", "The AI service stopped in the middle of the answer.");
    if (on_delta && streamed.size() < result.output.text.size() &&
        !StreamText(std::string_view(result.output.text).substr(streamed.size()), counted))
      return Unavailable(Reason::kCancelled, "client gone");
    return result;
  }
  return Unavailable("upstream_unavailable", "Could not get an answer.");
}

}  // namespace folio
