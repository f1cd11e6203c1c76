// handlers_fuzz.cc: JSON request bodies through the real handlers of
// POST /api/chat, POST /api/search, POST /v1/chat/completions, and session ids through
// GET/DELETE /api/sessions/{id}, with one App per process (fuzz_app.h: the
// sample index, real LMDB, no LLM, so chats answer degraded).
//
// Input framing: the first line names the call and its options, the rest is
// the body (or, for the session calls, the id):
//   chat | search | completions | get-session | delete-session
//   ("fast", from older seeds, is chat)
//   followed by any of: sse (Accept: text/event-stream), text (Content-Type:
//   text/plain), charset (application/json; charset=utf-8), key (an API key),
//   gone (the client goes away after the first streamed write).
// An unknown first word picks a call from its hash, so every input runs one.
// Checks: no handler throws or crashes; a slow route's step is either an
// answer now or work for later, never both or neither; every answer is a JSON body of the
// route's shape (or an event stream whose events are well-formed JSON); an
// answer held for a commit is released exactly once.
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_app.h"
#include "fuzz_util.h"
#include "handlers/handlers.h"
#include "sse_parser.h"

namespace {

using folio::Request;
using folio::Response;
using nlohmann::json;

enum class Call { kChat, kSearch, kCompletions, kGetSession, kDeleteSession, kCount };

Call CallNamed(std::string_view word) {
  if (word == "chat") return Call::kChat;
  if (word == "fast") return Call::kChat;
  if (word == "search") return Call::kSearch;
  if (word == "completions") return Call::kCompletions;
  if (word == "get-session") return Call::kGetSession;
  if (word == "delete-session") return Call::kDeleteSession;
  return static_cast<Call>(folio::fuzz::Seed(word) % static_cast<uint32_t>(Call::kCount));
}

// Collects a stream; `gone` makes every write after the first fail.
class CollectingWriter : public folio::StreamWriter {
 public:
  explicit CollectingWriter(bool gone) : gone_(gone) {}
  bool Write(std::string_view data) override {
    if (gone_ && writes_ > 0) return false;
    ++writes_;
    out_.append(data);
    return true;
  }
  bool Flush() override { return !(gone_ && writes_ > 1); }
  const std::string& out() const { return out_; }

 private:
  bool gone_;
  int writes_ = 0;
  std::string out_;
};

void CheckJsonBody(const Response& r, bool openai) {
  FUZZ_CHECK(r.content_type == "application/json", r.content_type);
  json body = json::parse(r.body, nullptr, false);
  FUZZ_CHECK(body.is_object(), r.body);
  if (r.status >= 400) {
    FUZZ_CHECK(body.contains("error") && body["error"].is_object(), r.body);
    FUZZ_CHECK(body["error"].contains("message") && body["error"]["message"].is_string(), r.body);
    if (!openai) FUZZ_CHECK(body["error"].contains("code") && body["error"]["code"].is_string(), r.body);
  }
}

void CheckStream(const std::string& out, bool openai) {
  folio::SseParser parser;
  std::vector<folio::SseEvent> events;
  folio::Status fed = parser.Feed(out, &events);
  FUZZ_CHECK(fed.ok(), fed.ToString());
  FUZZ_CHECK(!parser.HasPartialEvent(), "a stream ended inside an event");
  for (const folio::SseEvent& e : events) {
    if (openai && e.data == "[DONE]") continue;
    FUZZ_CHECK(json::parse(e.data, nullptr, false).is_object(), e.data);
  }
}

// Runs what the server would: the stream, or the held send, or nothing.
void Finish(Response& r, bool gone, bool openai) {
  FUZZ_CHECK(r.status >= 200 && r.status < 600, std::to_string(r.status));
  if (r.stream) {
    FUZZ_CHECK(r.status == 200 && r.content_type.rfind("text/event-stream", 0) == 0, r.content_type);
    CollectingWriter writer(gone);
    r.stream(writer);
    if (!gone) CheckStream(writer.out(), openai);
    return;
  }
  if (r.hold_until) {
    auto sent = std::make_shared<std::promise<void>>();
    std::future<void> done = sent->get_future();
    auto count = std::make_shared<std::atomic<int>>(0);
    auto tail = std::make_shared<std::string>();
    r.hold_until([sent, count, tail](std::string_view end) {
      if (count->fetch_add(1) == 0) {
        tail->assign(end);  // the body's end, which says whether the turn was saved
        sent->set_value();
      }
    });
    FUZZ_CHECK(done.wait_for(std::chrono::seconds(4)) == std::future_status::ready, "a held answer was never sent");
    FUZZ_CHECK(count->load() == 1, "a held answer was sent twice");
    r.body.append(*tail);
  }
  CheckJsonBody(r, openai);
}

// What the lifecycle does with a step, on one thread.
Response Run(folio::Step step) {
  FUZZ_CHECK(step.now.has_value() != static_cast<bool>(step.later), "a step must be exactly one of now and later");
  return step.now ? std::move(*step.now) : step.later();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  folio::App& app = folio::fuzz::FuzzApp();
  folio::fuzz::ResetStateEvery(2000);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view head = input.substr(0, nl);
  const std::string_view rest = nl == input.npos ? std::string_view() : input.substr(nl + 1);

  std::vector<std::string_view> words;
  for (size_t at = 0; at < head.size();) {
    size_t sp = head.find(' ', at);
    if (sp == head.npos) sp = head.size();
    if (sp > at) words.push_back(head.substr(at, sp - at));
    at = sp + 1;
  }
  const Call call = CallNamed(words.empty() ? std::string_view() : words[0]);
  auto has = [&](std::string_view flag) {
    for (size_t i = 1; i < words.size(); ++i)
      if (words[i] == flag) return true;
    return false;
  };

  Request request;
  request.method = "POST";
  request.content_type = has("text") ? "text/plain" : has("charset") ? "application/json; charset=utf-8" : "application/json";
  if (has("sse")) request.accept = "text/event-stream";
  if (has("key")) request.api_key = "fuzz-key";
  request.remote_addr = "127.0.0.1";
  request.request_id = "fuzz0001";
  request.body = std::string(rest);
  const bool gone = has("gone");

  Response r;
  bool openai = false;
  switch (call) {
    case Call::kChat:
      request.path = "/api/chat";
      r = Run(folio::HandleChat(request, app));
      break;
    case Call::kSearch:
      request.path = "/api/search";
      r = Run(folio::HandleSearch(request, app));
      break;
    case Call::kCompletions:
      request.path = "/v1/chat/completions";
      openai = true;
      r = Run(folio::HandleChatCompletions(request, app));
      break;
    case Call::kGetSession:
    case Call::kDeleteSession:
      request.method = call == Call::kGetSession ? "GET" : "DELETE";
      request.path = "/api/sessions/" + std::string(rest.substr(0, rest.find('\n')));
      request.body.clear();
      r = call == Call::kGetSession ? folio::HandleGetSession(request, app) : folio::HandleDeleteSession(request, app);
      break;
    case Call::kCount:
      break;
  }
  Finish(r, gone, openai);
  return 0;
}
