// chat_load.h: what the fault tests send and how they judge it — chat and
// search bodies, Server-Sent Events split into (name, data), one request
// sent and timed, and ChatLoad: client threads sending requests through
// nginx until stopped, every outcome kept with its start and end time.
// ChatLoad is driven from one thread; its clients run on their own.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_http.h"

namespace folio::test {

using Clock = std::chrono::steady_clock;

std::string ChatBody(const std::string& message, const std::string& session = "", bool stream = false);
std::string SearchBody(const std::string& query, int k = 3);

struct SseEvent {
  std::string name;
  nlohmann::json data;  // discarded value when not JSON
};
// Every "event: NAME\ndata: {...}" of a text/event-stream body, in order.
std::vector<SseEvent> SseEvents(const std::string& body);

enum class Kind { kChat, kStream, kSearch };
const char* KindName(Kind kind);

struct Outcome {
  Kind kind = Kind::kChat;
  std::string message;           // the chat message or search query sent
  std::string session_sent;      // "" for a new session
  HttpResponse response;         // status 0: no HTTP answer at all
  std::vector<SseEvent> events;  // kStream only
  Clock::time_point start, end;

  // The session id of an answered chat ("" otherwise): the JSON answer's, or
  // the stream's meta event's when the stream ended with done.
  std::string AnsweredSession() const;
  // A 200 JSON answer with a non-empty "response", a search's 200 with
  // "results", or a stream whose last event is done: the request succeeded.
  bool Answered() const;
  // An error the client can act on: a JSON body with error.code and a 4xx
  // or 5xx status, or a stream whose last event is an error with a code.
  bool CleanError() const;
  std::string Describe() const;  // for failure messages
};

// Sends one request through nginx on `port`. A stream's raw response so
// far goes to `on_stream_data` (when given) each time more of it arrives.
Outcome Send(int port, Kind kind, const std::string& message, const std::string& session = "",
             std::chrono::milliseconds timeout = std::chrono::seconds(30),
             const std::function<void(const std::string& so_far)>& on_stream_data = nullptr);

class ChatLoad {
 public:
  struct Request {
    Kind kind;
    std::string message;
  };
  // What client `client` sends as its `n`th request. A client's chats after
  // its first answered one continue its session when `follow_up` is set.
  using Next = std::function<Request(int client, int n)>;

  ChatLoad(int port, int clients, Next next, bool follow_up = true);
  ~ChatLoad();  // Stop()
  ChatLoad(const ChatLoad&) = delete;
  ChatLoad& operator=(const ChatLoad&) = delete;

  void Start();
  void Stop();  // waits for every request in flight
  std::vector<Outcome> outcomes() const;

  // What WaitForMore counts: requests answered (Outcome::Answered), or
  // ended whatever their outcome.
  enum class Counting { kAnswered, kEnded };
  // Blocks until `n` more requests than when called have been answered (or
  // ended), or `deadline` passes; false then. The load's own progress, in
  // place of a sleep: with n = 2 × clients, at least `clients` of them were
  // sent after the call (a client has one request in flight at most).
  bool WaitForMore(int n, Counting counting = Counting::kAnswered,
                   std::chrono::milliseconds deadline = std::chrono::seconds(30)) const;

 private:
  void Client(int index);

  const int port_, clients_;
  const Next next_;
  const bool follow_up_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  mutable std::condition_variable recorded_;  // notified for every outcome
  std::vector<Outcome> outcomes_;             // guarded by mu_
  int answered_ = 0;                          // guarded by mu_
};

}  // namespace folio::test
