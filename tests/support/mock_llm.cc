// mock_llm.cc: the mock's HTTP server (cpp-httplib, the only file of ours
// that includes it).
//
// How faults are made real:
// - Delays and hangs wait on a condition variable in 10 ms steps, so Stop()
//   wakes them at once, and each step polls the connection's socket for
//   POLLRDHUP: a client that gives up is seen (and counted) within ~10 ms.
// - httplib does not hand handlers their socket, so FindConnectionFd() finds
//   it among our fds by (local port, peer port). We only poll it, or turn it
//   into a reset with connect(AF_UNSPEC) — Linux's tcp_disconnect() sends an
//   RST and leaves the fd open, so httplib still closes it (no fd reuse race).
//   Returning false from a content provider only sends FIN ("close").
// - A stream is written from one content-provider call; a failed
//   DataSink::write means the client went away, counted as a disconnect.
#include "mock_llm.h"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "mock_llm_formats.h"
#include "mock_llm_socket.h"

namespace folio::test {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr size_t kMaxRecordedRequests = 64;
constexpr size_t kMaxRecordedBody = 64 * 1024;
constexpr milliseconds kHangCap{120000};

enum class WaitEnd { kElapsed, kStopped, kClientGone };

struct Lane {  // per endpoint: scripted queue, then the default
  std::deque<MockBehaviour> queue;
  MockBehaviour fallback;
};

}  // namespace

struct MockLlm::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<int> port{0};
  std::atomic<uint64_t> next_id{1};

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  Lane chat, embeddings;
  std::string api_key;
  int embedding_dimension = kDefaultEmbeddingDimension;
  std::string model = kDefaultModel;
  std::map<std::string, int> calls;
  int streams_started = 0, streams_completed = 0, disconnects = 0, unauthorized = 0;
  int64_t embedded_inputs = 0;
  std::deque<json> requests;

  void Count(int* counter) {
    std::lock_guard<std::mutex> lock(mu);
    ++*counter;
  }

  WaitEnd Wait(milliseconds d, int fd) {
    const auto until = std::chrono::steady_clock::now() + d;
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      if (stopping) return WaitEnd::kStopped;
      if (ClientGone(fd)) {
        ++disconnects;
        return WaitEnd::kClientGone;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= until) return WaitEnd::kElapsed;
      cv.wait_for(lock, std::min<std::chrono::steady_clock::duration>(until - now, milliseconds(10)));
    }
  }

  // Counts and records the call, checks the key and takes this call's
  // behaviour. False when the response is already decided (401).
  bool Admit(const std::string& endpoint, Lane Impl::*lane, const httplib::Request& req, httplib::Response& res,
             MockBehaviour* b) {
    std::lock_guard<std::mutex> lock(mu);
    ++calls[endpoint];
    const bool authorized = api_key.empty() || req.get_header_value("Authorization") == "Bearer " + api_key;
    requests.push_back({{"endpoint", endpoint},
                        {"body", req.body.substr(0, kMaxRecordedBody)},
                        {"authorized", authorized},
                        {"peer_port", req.remote_port}});
    if (requests.size() > kMaxRecordedRequests) requests.pop_front();
    if (!authorized) {
      ++unauthorized;
      res.status = 401;
      res.set_content(OpenAiErrorBody(401).dump(), "application/json");
      return false;
    }
    Lane& l = this->*lane;
    if (l.queue.empty()) {
      *b = l.fallback;
    } else {
      *b = l.queue.front();
      l.queue.pop_front();
    }
    return true;
  }

  // Latency, hang and scripted status. False when the response is decided.
  bool Prelude(const MockBehaviour& b, int fd, httplib::Response& res) {
    WaitEnd w = Wait(b.hang ? kHangCap : milliseconds(b.latency_ms), fd);
    if (w != WaitEnd::kElapsed || b.hang) {
      res.status = w == WaitEnd::kStopped ? 503 : 504;  // nobody reads it when the client is gone
      return false;
    }
    if (!b.retry_after.empty()) res.set_header("Retry-After", b.retry_after);
    if (b.status < 200 || b.status >= 300) {
      res.status = b.status;
      if (b.malformed) res.set_content("<html><body>" + std::to_string(b.status) + " Bad Gateway</body></html>", "text/html");
      else res.set_content(OpenAiErrorBody(b.status).dump(), "application/json");
      return false;
    }
    return true;
  }

  void HandleChat(const httplib::Request& req, httplib::Response& res);
  void HandleEmbeddings(const httplib::Request& req, httplib::Response& res);
  bool WriteStream(const MockBehaviour& b, const json& request, int remote_port, httplib::DataSink& sink);
  json StatsJson() const;
  Status ApplyScript(const json& script);
  void ResetState();
};

// The scripted reply, else the echo; a model that obeys system text says
// what a system message told it to.
std::string ReplyFor(const MockBehaviour& b, const json& request) {
  if (b.obey_system)
    if (std::optional<std::string> said = SystemInstruction(request)) return *said;
  return b.reply ? *b.reply : EchoReply(request);
}

void MockLlm::Impl::HandleChat(const httplib::Request& req, httplib::Response& res) {
  MockBehaviour b;
  if (!Admit("chat_completions", &Impl::chat, req, res, &b)) return;
  if (!Prelude(b, FindConnectionFd(port, req.remote_port), res)) return;
  json request = json::parse(req.body, nullptr, false);
  if (!request.is_object() || !request.contains("messages") || !request["messages"].is_array()) {
    res.status = 400;
    res.set_content(OpenAiErrorBody(400).dump(), "application/json");
    return;
  }
  if (request.value("stream", false)) {
    Count(&streams_started);
    const int remote_port = req.remote_port;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, b, request, remote_port](size_t, httplib::DataSink& sink) {
      return WriteStream(b, request, remote_port, sink);
    });
    return;
  }
  if (b.malformed) {
    res.set_content("{\"id\": \"chatcmpl-mock\", \"choices\": [", "application/json");
    return;
  }
  const std::string reply = ReplyFor(b, request);
  const std::string id = "chatcmpl-mock-" + std::to_string(next_id++);
  std::lock_guard<std::mutex> lock(mu);
  res.set_content(ChatCompletion(id, std::time(nullptr), model, reply, PromptTokens(request),
                                 static_cast<int>(SplitTokens(reply).size()))
                      .dump(),
                  "application/json");
}

bool MockLlm::Impl::WriteStream(const MockBehaviour& b, const json& request, int remote_port, httplib::DataSink& sink) {
  const int fd = FindConnectionFd(port, remote_port);
  const std::string reply = ReplyFor(b, request);
  const std::vector<std::string> tokens = SplitTokens(reply);
  const std::string id = "chatcmpl-mock-" + std::to_string(next_id++);
  const int64_t created = std::time(nullptr);
  std::string model_name;
  {
    std::lock_guard<std::mutex> lock(mu);
    model_name = model;
  }
  const bool include_usage = request.contains("stream_options") && request["stream_options"].is_object() &&
                             request["stream_options"].value("include_usage", false);
  auto send = [&](const std::string& data) {
    std::string event = "data: " + data + "\n\n";
    if (sink.write(event.data(), event.size())) return true;
    Count(&disconnects);
    return false;
  };
  auto chunk = [&](const json& delta, const json& finish) {
    return ChatChunk(id, created, model_name, delta, finish, include_usage).dump();
  };
  if (!send(chunk({{"role", "assistant"}, {"content", ""}}, nullptr))) return false;
  for (size_t i = 0; i <= tokens.size(); ++i) {
    const int sent = static_cast<int>(i);
    if (sent == b.truncate_after_tokens) {
      sink.done();
      return true;
    }
    if (sent == b.close_after_tokens) return false;
    if (sent == b.reset_after_tokens) {
      ResetConnection(fd);
      return false;
    }
    if (i == tokens.size()) break;
    if (Wait(milliseconds(i == 0 ? b.first_token_ms : b.token_delay_ms), fd) != WaitEnd::kElapsed) return false;
    const std::string data = (b.malformed && i == 0) ? "{\"choices\": [{\"delta\": {\"content\": " : chunk({{"content", tokens[i]}}, nullptr);
    if (!send(data)) return false;
  }
  if (!send(chunk(json::object(), "stop"))) return false;
  if (include_usage) {
    json last = ChatChunk(id, created, model_name, json::object(), nullptr, false);
    last["choices"] = json::array();
    last["usage"] = Usage(PromptTokens(request), static_cast<int>(tokens.size()));
    if (!send(last.dump())) return false;
  }
  if (!send("[DONE]")) return false;
  Count(&streams_completed);  // before done(): the client cannot finish before the count is visible
  sink.done();
  return true;
}

void MockLlm::Impl::HandleEmbeddings(const httplib::Request& req, httplib::Response& res) {
  MockBehaviour b;
  if (!Admit("embeddings", &Impl::embeddings, req, res, &b)) return;
  if (!Prelude(b, FindConnectionFd(port, req.remote_port), res)) return;
  if (b.malformed) {
    res.set_content("{\"object\": \"list\", \"data\": [{\"embedding\": [0.1, ", "application/json");
    return;
  }
  json request = json::parse(req.body, nullptr, false);
  Result<std::vector<std::string>> texts = EmbeddingInputs(request);
  if (!texts.ok()) {
    res.status = 400;
    res.set_content(OpenAiErrorBody(400).dump(), "application/json");
    return;
  }
  std::unique_lock<std::mutex> lock(mu);
  int dim = embedding_dimension;
  if (request.contains("dimensions") && request["dimensions"].is_number_integer()) dim = request["dimensions"].get<int>();
  if (b.dimension > 0) dim = b.dimension;
  embedded_inputs += static_cast<int64_t>(texts->size());
  const std::string model_name = model;
  lock.unlock();

  json body = EmbeddingsResponse(*texts, dim, b, model_name);
  res.set_content(body.dump(), "application/json");
}

json MockLlm::Impl::StatsJson() const {
  std::lock_guard<std::mutex> lock(mu);
  json c = {{"chat_completions", 0}, {"embeddings", 0}, {"models", 0}};
  for (const auto& [name, n] : calls) c[name] = n;
  return {{"calls", c},
          {"streams_started", streams_started},
          {"streams_completed", streams_completed},
          {"disconnects", disconnects},
          {"unauthorized", unauthorized},
          {"embedded_inputs", embedded_inputs},
          {"requests", json(requests)}};
}

Status MockLlm::Impl::ApplyScript(const json& script) {
  Result<MockScript> parsed = ParseMockScript(script);  // all parsed first: a bad script changes nothing
  if (!parsed.ok()) return parsed.status();
  std::lock_guard<std::mutex> lock(mu);
  Lane* targets[2] = {&chat, &embeddings};
  for (int i = 0; i < 2; ++i) {
    const MockScript::Lane& from = parsed->lanes[i];
    if (from.queue) {
      if (!parsed->append) targets[i]->queue.clear();
      targets[i]->queue.insert(targets[i]->queue.end(), from.queue->begin(), from.queue->end());
    }
    if (from.fallback) targets[i]->fallback = *from.fallback;
  }
  if (parsed->api_key) api_key = *parsed->api_key;
  if (parsed->model) model = *parsed->model;
  if (parsed->embedding_dimension) embedding_dimension = *parsed->embedding_dimension;
  return Status::Ok();
}

void MockLlm::Impl::ResetState() {
  std::lock_guard<std::mutex> lock(mu);
  chat = Lane{};
  embeddings = Lane{};
  api_key.clear();
  embedding_dimension = kDefaultEmbeddingDimension;
  model = kDefaultModel;
  calls.clear();
  streams_started = streams_completed = disconnects = unauthorized = 0;
  embedded_inputs = 0;
  requests.clear();
}

MockLlm::MockLlm() : impl_(std::make_unique<Impl>()) {}

MockLlm::~MockLlm() { Stop(); }

Status MockLlm::Start(int port) {
  std::signal(SIGPIPE, SIG_IGN);
  Impl* impl = impl_.get();
  httplib::Server& s = impl->server;
  // Hanging and slow handlers each hold a thread; 8 (httplib's default on
  // small machines) is too few for tests that pile them up.
  s.new_task_queue = [] { return new httplib::ThreadPool(32); };
  s.set_keep_alive_timeout(1);  // bounds how long an idle client connection delays Stop()
  s.set_keep_alive_max_count(1000);
  s.set_tcp_nodelay(true);  // else headers-then-body writes meet delayed ACKs: +40 ms a call
  auto json_reply = [](httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  };
  s.Post("/v1/chat/completions", [impl](const httplib::Request& q, httplib::Response& r) { impl->HandleChat(q, r); });
  s.Post("/v1/embeddings", [impl](const httplib::Request& q, httplib::Response& r) { impl->HandleEmbeddings(q, r); });
  s.Get("/v1/models", [impl, json_reply](const httplib::Request& q, httplib::Response& r) {
    std::unique_lock<std::mutex> lock(impl->mu);
    ++impl->calls["models"];
    if (!impl->api_key.empty() && q.get_header_value("Authorization") != "Bearer " + impl->api_key) {
      ++impl->unauthorized;
      json_reply(r, 401, OpenAiErrorBody(401));
      return;
    }
    json model = {{"id", impl->model}, {"object", "model"}, {"created", 1700000000}, {"owned_by", "folio-mock"}};
    json_reply(r, 200, {{"object", "list"}, {"data", json::array({model})}});
  });
  s.Post("/_mock/script", [impl, json_reply](const httplib::Request& q, httplib::Response& r) {
    json script = json::parse(q.body, nullptr, false);
    Status st = impl->ApplyScript(script);
    if (st.ok()) json_reply(r, 200, {{"ok", true}});
    else json_reply(r, 400, {{"ok", false}, {"error", st.error()}, {"message", st.message()}});
  });
  s.Get("/_mock/stats", [impl, json_reply](const httplib::Request&, httplib::Response& r) {
    json_reply(r, 200, impl->StatsJson());
  });
  s.Post("/_mock/reset", [impl, json_reply](const httplib::Request&, httplib::Response& r) {
    impl->ResetState();
    json_reply(r, 200, {{"ok", true}});
  });
  s.set_error_handler([json_reply](const httplib::Request&, httplib::Response& r) {
    if (r.body.empty()) json_reply(r, r.status, OpenAiErrorBody(r.status));
  });

  int bound = port == 0 ? s.bind_to_any_port("127.0.0.1") : (s.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound <= 0) return Unavailable("mock_bind_failed", "could not bind 127.0.0.1:" + std::to_string(port));
  impl->port = bound;
  impl->thread = std::thread([impl] { impl->server.listen_after_bind(); });
  // httplib's stop() is a no-op until the listen loop has started, so a
  // Stop() right after Start() would hang forever: wait for the loop.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!s.is_running()) {
    if (std::chrono::steady_clock::now() > until) return Internal("mock_start_failed", "listen loop did not start");
    std::this_thread::sleep_for(milliseconds(1));
  }
  return Status::Ok();
}

void MockLlm::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    ShutdownConnections(impl_->port);  // idle keep-alive connections would hold the join for 1 s
    impl_->thread.join();
  }
}

int MockLlm::port() const { return impl_->port; }
std::string MockLlm::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/v1"; }

Status MockLlm::Script(const json& script) { return impl_->ApplyScript(script); }
void MockLlm::PushChat(const MockBehaviour& b) { (void)Script({{"chat", {{"queue", json::array({b.ToJson()})}}}, {"append", true}}); }
void MockLlm::PushEmbeddings(const MockBehaviour& b) {
  (void)Script({{"embeddings", {{"queue", json::array({b.ToJson()})}}}, {"append", true}});
}
void MockLlm::SetChatDefault(const MockBehaviour& b) { (void)Script({{"chat", {{"default", b.ToJson()}}}}); }
void MockLlm::SetEmbeddingsDefault(const MockBehaviour& b) { (void)Script({{"embeddings", {{"default", b.ToJson()}}}}); }
void MockLlm::RequireApiKey(const std::string& key) { (void)Script({{"api_key", key}}); }
void MockLlm::SetEmbeddingDimension(int dimension) { (void)Script({{"embedding_dimension", dimension}}); }
void MockLlm::Reset() { impl_->ResetState(); }

json MockLlm::Stats() const { return impl_->StatsJson(); }
int MockLlm::Calls(const std::string& endpoint) const { return Stats()["calls"].value(endpoint, 0); }
int MockLlm::Disconnects() const { return Stats()["disconnects"].get<int>(); }
int MockLlm::StreamsCompleted() const { return Stats()["streams_completed"].get<int>(); }

std::string MockLlm::LastBody(const std::string& endpoint) const {
  json stats = Stats();
  for (auto it = stats["requests"].rbegin(); it != stats["requests"].rend(); ++it) {
    if ((*it)["endpoint"] == endpoint) return (*it)["body"].get<std::string>();
  }
  return "";
}

bool MockLlm::WaitFor(const std::function<bool()>& done, milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

}  // namespace folio::test
