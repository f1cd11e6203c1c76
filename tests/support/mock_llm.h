// mock_llm.h: a loopback OpenAI-compatible server for tests (chat
// completions, streaming included; embeddings; models), scriptable per call,
// counting every call and remembering recent request bodies. Runs an
// httplib server on 127.0.0.1 in a background thread. All methods are
// thread-safe. Starting one ignores SIGPIPE process-wide (httplib writes
// without MSG_NOSIGNAL, and tests make clients vanish on purpose).
// The same server runs standalone as the `mock-llm` binary (mock_llm_main.cc),
// scripted over HTTP through /_mock/script, /_mock/stats and /_mock/reset.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "status.h"

namespace folio::test {

// What the mock does for one call. JSON names are the field names; every
// field is optional in JSON (absent = the default here).
struct MockBehaviour {
  int status = 200;            // non-2xx: an OpenAI-style {"error":{...}} body
  std::string retry_after;     // sent as Retry-After when non-empty ("2" or an HTTP-date)
  int latency_ms = 0;          // delay before the response headers
  int first_token_ms = 0;      // streaming: delay after headers before the first content chunk
  int token_delay_ms = 0;      // streaming: delay between content chunks
  std::optional<std::string> reply;  // chat reply; default "Answer based on context: <60 chars of last user msg>"
  bool malformed = false;      // body is not valid JSON (stream: the first content event is garbage)
  bool hang = false;           // never answer: waits until the client goes away, Stop(), or 120 s
  // Streaming faults, counted in content chunks sent before the fault (-1 = off):
  int truncate_after_tokens = -1;  // end the HTTP body cleanly but without finish chunk or [DONE]
  int close_after_tokens = -1;     // close the connection (FIN) mid-body, no chunked terminator
  int reset_after_tokens = -1;     // abort the connection with a TCP RST
  // A model that takes system-role text as its rules: when a system message
  // holds "INSTRUCTION: say <words>", the reply is <words> (to the end of
  // that line) instead of the usual one. What a prompt-injection test needs:
  // text that reaches the system role is obeyed, text in a user message is not.
  bool obey_system = false;
  // Embeddings faults:
  int vector_count_delta = 0;  // answer with this many more (+) or fewer (-) vectors than inputs
  int dimension = 0;           // vector size for this call (0: the request's "dimensions" or the mock's)
  bool reverse_order = false;  // list "data" in reverse index order (clients must sort by "index")
  bool non_numeric = false;    // put a string where the first number of the first vector belongs

  // Unknown keys and wrongly typed values are InvalidArgument.
  static Result<MockBehaviour> FromJson(const nlohmann::json& j);
  nlohmann::json ToJson() const;
};

class MockLlm {
 public:
  static constexpr int kDefaultEmbeddingDimension = 64;
  static constexpr const char* kDefaultModel = "mock-model";

  MockLlm();
  ~MockLlm();  // Stop()
  MockLlm(const MockLlm&) = delete;
  MockLlm& operator=(const MockLlm&) = delete;

  // Binds 127.0.0.1:`port` (0: a free port the kernel picks) and serves
  // /v1/* and /_mock/* from a background thread; connections are accepted
  // once this returns OK. REQUIRES: called at most once.
  Status Start(int port = 0);
  // Wakes every sleeping or hanging handler, closes the listener, joins the
  // server threads; open client connections are shut down.
  // Idempotent.
  void Stop();

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT/v1"

  // Scripting. Script() takes the JSON of POST /_mock/script:
  // {"chat":       {"queue": [behaviour...], "default": behaviour},
  //  "embeddings": {"queue": [behaviour...], "default": behaviour},
  //  "append": false,            // true: add to the queues instead of replacing them
  //  "api_key": "sk-test",       // require "Authorization: Bearer sk-test"; "" = no auth
  //  "embedding_dimension": 64,  // default vector size
  //  "model": "mock-model"}      // echoed in responses and listed by /v1/models
  // Every key is optional; absent ones keep their current value. A queued
  // behaviour serves exactly one call of its endpoint, then the default.
  Status Script(const nlohmann::json& script);
  void PushChat(const MockBehaviour& b);
  void PushEmbeddings(const MockBehaviour& b);
  void SetChatDefault(const MockBehaviour& b);
  void SetEmbeddingsDefault(const MockBehaviour& b);
  void RequireApiKey(const std::string& key);  // "" turns auth off
  void SetEmbeddingDimension(int dimension);
  // Back to defaults, queues emptied, counters zeroed.
  void Reset();

  // The JSON of GET /_mock/stats:
  // {"calls": {"chat_completions": 0, "embeddings": 0, "models": 0},
  //  "streams_started": 0, "streams_completed": 0,  // completed = reached [DONE]
  //  "disconnects": 0,      // the client went away before the response ended
  //  "unauthorized": 0,     // calls answered 401 for a missing or wrong key
  //  "embedded_inputs": 0,  // texts embedded, summed over calls
  //  "requests": [{"endpoint": "chat_completions", "body": "...", "authorized": true,
  //                "peer_port": 41234}, ...]}
  // "requests" holds the last 64 /v1 requests, oldest first, bodies cut at 64 KiB;
  // peer_port is the caller's end of the connection (which process called: ss).
  nlohmann::json Stats() const;
  int Calls(const std::string& endpoint) const;  // "chat_completions" | "embeddings" | "models"
  int Disconnects() const;
  int StreamsCompleted() const;
  std::string LastBody(const std::string& endpoint) const;  // "" when none

  // Polls `done` every few ms until it is true or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

  struct Impl;  // public only so the .cc's helpers can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace folio::test
