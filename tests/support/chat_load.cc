// chat_load.cc: bodies, SSE splitting, one timed request, the load threads.
#include "chat_load.h"

#include <string_view>

namespace folio::test {

std::string ChatBody(const std::string& message, const std::string& session, bool stream) {
  nlohmann::json body = {{"message", message}};
  if (!session.empty()) body["session_id"] = session;
  if (stream) body["stream"] = true;
  return body.dump();
}

std::string SearchBody(const std::string& query, int k) { return nlohmann::json{{"query", query}, {"k", k}}.dump(); }

// By hand, not std::regex: its recursive matcher overflows the stack on a
// data line of a few hundred KB.
std::vector<SseEvent> SseEvents(const std::string& body) {
  std::vector<SseEvent> out;
  std::string name;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.rfind("event: ", 0) == 0) {
      name = line.substr(7);
    } else if (line.rfind("data: ", 0) == 0 && !name.empty()) {
      out.push_back({name, nlohmann::json::parse(line.substr(6), nullptr, false)});
      name.clear();
    }
    at = end + 1;
  }
  return out;
}

const char* KindName(Kind kind) { return kind == Kind::kChat ? "chat" : kind == Kind::kStream ? "stream" : "search"; }

std::string Outcome::AnsweredSession() const {
  if (!Answered() || kind == Kind::kSearch) return "";
  if (kind == Kind::kChat) return response.Json().value("session_id", "");
  for (const SseEvent& e : events)
    if (e.name == "meta" && e.data.is_object()) return e.data.value("session_id", "");
  return "";
}

bool Outcome::Answered() const {
  if (response.status != 200) return false;
  if (kind == Kind::kStream) return !events.empty() && events.back().name == "done";
  nlohmann::json j = response.Json();
  if (kind == Kind::kSearch) return j.is_object() && j["results"].is_array();
  return j.is_object() && j["response"].is_string() && !j["response"].get<std::string>().empty() &&
         j["degraded"].is_boolean();
}

bool Outcome::CleanError() const {
  if (kind == Kind::kStream && response.status == 200) {
    return !events.empty() && events.back().name == "error" && events.back().data.is_object() &&
           events.back().data["error"]["code"].is_string();
  }
  nlohmann::json j = response.Json();
  return response.status >= 400 && j.is_object() && j["error"].is_object() && j["error"]["code"].is_string();
}

std::string Outcome::Describe() const {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(end - start).count();
  std::string last = events.empty() ? "" : " last event " + events.back().name;
  return std::string(KindName(kind)) + " \"" + message.substr(0, 40) + "\" → " + std::to_string(response.status) +
         last + " after " + std::to_string(ms) + " ms: " + response.raw.substr(0, 300);
}

Outcome Send(int port, Kind kind, const std::string& message, const std::string& session,
             std::chrono::milliseconds timeout, const std::function<void(const std::string& so_far)>& on_stream_data) {
  Outcome o;
  o.kind = kind;
  o.message = message;
  o.session_sent = session;
  o.start = Clock::now();
  if (kind == Kind::kSearch) {
    o.response = Http(port, "POST", "/api/search", SearchBody(message), {{}, timeout});
  } else if (kind == Kind::kChat) {
    o.response = Http(port, "POST", "/api/chat", ChatBody(message, session), {{}, timeout});
  } else {
    std::string raw = StreamHttp(port, "POST", "/api/chat", ChatBody(message, session, true),
                                 {{"Content-Type", "application/json"}},
                                 [&](const std::string& so_far) {
                                   if (on_stream_data) on_stream_data(so_far);
                                   return true;
                                 },
                                 timeout);
    o.response = ParseHttpResponse(raw);
    o.events = SseEvents(o.response.body);
  }
  o.end = Clock::now();
  return o;
}

ChatLoad::ChatLoad(int port, int clients, Next next, bool follow_up)
    : port_(port), clients_(clients), next_(std::move(next)), follow_up_(follow_up) {}

ChatLoad::~ChatLoad() { Stop(); }

void ChatLoad::Start() {
  for (int i = 0; i < clients_; ++i) threads_.emplace_back(&ChatLoad::Client, this, i);
}

void ChatLoad::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::vector<Outcome> ChatLoad::outcomes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return outcomes_;
}

bool ChatLoad::WaitForMore(int n, Counting counting, std::chrono::milliseconds deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto count = [&] { return counting == Counting::kAnswered ? answered_ : static_cast<int>(outcomes_.size()); };
  const int target = count() + n;
  return recorded_.wait_for(lock, deadline, [&] { return count() >= target; });
}

void ChatLoad::Client(int index) {
  std::string session;
  for (int n = 0; !stop_.load(); ++n) {
    Request r = next_(index, n);
    Outcome o = Send(port_, r.kind, r.message, r.kind == Kind::kSearch ? "" : session);
    if (follow_up_ && session.empty()) session = o.AnsweredSession();
    // Refused: retry soon, as a client would, without spinning.
    if (o.response.status == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const bool answered = o.Answered();
    {
      std::lock_guard<std::mutex> lock(mu_);
      answered_ += answered;
      outcomes_.push_back(std::move(o));
    }
    recorded_.notify_all();
  }
}

}  // namespace folio::test
