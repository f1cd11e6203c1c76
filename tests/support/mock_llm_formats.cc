// mock_llm_formats.cc: OpenAI response shapes as of the 2024 API reference
// (chat completions, streaming chunks with stream_options.include_usage,
// embeddings), plus MockBehaviour's JSON form.
#include "mock_llm_formats.h"

#include <algorithm>

#include "mock_llm.h"

namespace folio::test {

using nlohmann::json;

json OpenAiErrorBody(int status) {
  std::string message = "mock error", type = "server_error";
  json code = nullptr;
  switch (status) {
    case 400: message = "Invalid request (mock)."; type = "invalid_request_error"; break;
    case 401: message = "Incorrect API key provided."; type = "invalid_request_error"; code = "invalid_api_key"; break;
    case 403: message = "Forbidden (mock)."; type = "invalid_request_error"; break;
    case 404: message = "Not found (mock)."; type = "invalid_request_error"; break;
    case 429: message = "Rate limit reached (mock)."; type = "requests"; code = "rate_limit_exceeded"; break;
    default: message = "The server had an error while processing your request (mock)."; break;
  }
  return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
}

namespace {

std::string TextOf(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const json& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

std::string Utf8Prefix(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

std::optional<std::string> SystemInstruction(const json& request) {
  static const std::string kMark = "INSTRUCTION: say ";
  if (!request.contains("messages") || !request["messages"].is_array()) return std::nullopt;
  for (const json& m : request["messages"]) {
    if (!m.is_object() || m.value("role", "") != "system" || !m.contains("content")) continue;
    const std::string text = TextOf(m["content"]);
    const size_t at = text.find(kMark);
    if (at == std::string::npos) continue;
    const size_t from = at + kMark.size();
    return text.substr(from, text.find('\n', from) - from);
  }
  return std::nullopt;
}

std::string EchoReply(const json& request) {
  std::string last_user;
  if (request.contains("messages") && request["messages"].is_array()) {
    for (const json& m : request["messages"]) {
      if (m.is_object() && m.value("role", "") == "user" && m.contains("content")) last_user = TextOf(m["content"]);
    }
  }
  // folio sends the reference material first and the question after
  // "Question:" in the same message: echo the question.
  static const std::string kQuestion = "\nQuestion: ";
  if (size_t at = last_user.rfind(kQuestion); at != std::string::npos) last_user = last_user.substr(at + kQuestion.size());
  return "Answer based on context: " + Utf8Prefix(last_user, 60);
}

std::vector<std::string> SplitTokens(const std::string& reply) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < reply.size()) {
    size_t j = reply.find(' ', i);
    if (j == std::string::npos) j = reply.size();
    while (j < reply.size() && reply[j] == ' ') ++j;
    tokens.push_back(reply.substr(i, j - i));
    i = j;
  }
  return tokens;
}

int PromptTokens(const json& request) {
  int bytes = 0, messages = 0;
  if (request.contains("messages") && request["messages"].is_array()) {
    for (const json& m : request["messages"]) {
      ++messages;
      if (m.is_object() && m.contains("content")) bytes += static_cast<int>(TextOf(m["content"]).size());
    }
  }
  return bytes / 4 + messages;
}

json Usage(int prompt_tokens, int completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json ChatCompletion(const std::string& id, int64_t created, const std::string& model, const std::string& reply,
                    int prompt_tokens, int completion_tokens) {
  json message = {{"role", "assistant"}, {"content", reply}, {"refusal", nullptr}};
  json choice = {{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", "stop"}};
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({choice})},
          {"usage", Usage(prompt_tokens, completion_tokens)},
          {"system_fingerprint", nullptr}};
}

json ChatChunk(const std::string& id, int64_t created, const std::string& model, const json& delta,
               const json& finish_reason, bool with_usage) {
  json choice = {{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
  json chunk = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"system_fingerprint", nullptr},
                {"choices", json::array({choice})}};
  if (with_usage) chunk["usage"] = nullptr;
  return chunk;
}

Result<std::vector<std::string>> EmbeddingInputs(const json& request) {
  if (!request.is_object() || !request.contains("input")) {
    return InvalidArgument("missing_input", "'input' is required");
  }
  const json& input = request["input"];
  if (input.is_string()) return std::vector<std::string>{input.get<std::string>()};
  if (!input.is_array() || input.empty()) return InvalidArgument("bad_input", "'input' must be a string or strings");
  std::vector<std::string> texts;
  for (const json& t : input) {
    if (!t.is_string()) return InvalidArgument("bad_input", "'input' must be a string or strings");
    texts.push_back(t.get<std::string>());
  }
  return texts;
}

std::vector<float> MockVector(const std::string& text, int dimension) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, then splitmix64 as a stream
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  std::vector<float> v(static_cast<size_t>(std::max(dimension, 0)));
  for (float& x : v) {
    h += 0x9e3779b97f4a7c15ull;
    uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    x = static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  }
  return v;
}

json EmbeddingsResponse(const std::vector<std::string>& texts, int dimension, const MockBehaviour& b,
                        const std::string& model) {
  json data = json::array();
  const int n = std::max(0, static_cast<int>(texts.size()) + b.vector_count_delta);
  for (int i = 0; i < n; ++i) {
    const std::string& text = texts[std::min<size_t>(static_cast<size_t>(i), texts.size() - 1)];
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", MockVector(text, dimension)}});
  }
  if (b.non_numeric && !data.empty() && dimension > 0) data[0]["embedding"][0] = "x";
  if (b.reverse_order) std::reverse(data.begin(), data.end());
  int tokens = 0;
  for (const std::string& t : texts) tokens += static_cast<int>(t.size() / 4 + 1);
  return {{"object", "list"},
          {"data", data},
          {"model", model},
          {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
}

// ---- MockBehaviour <-> JSON ----

Result<MockBehaviour> MockBehaviour::FromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("bad_behaviour", "a behaviour is a JSON object");
  MockBehaviour b;
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const json& v = item.value();  // named, not a structured binding: lambdas capture it
    auto as_int = [&v](int* f) { return v.is_number_integer() ? (*f = v.get<int>(), true) : false; };
    auto as_bool = [&v](bool* f) { return v.is_boolean() ? (*f = v.get<bool>(), true) : false; };
    bool ok = true;
    if (key == "status") ok = as_int(&b.status);
    else if (key == "retry_after") {
      if (v.is_number_integer()) b.retry_after = std::to_string(v.get<int>());
      else if (v.is_string()) b.retry_after = v.get<std::string>();
      else ok = false;
    } else if (key == "latency_ms") ok = as_int(&b.latency_ms);
    else if (key == "first_token_ms") ok = as_int(&b.first_token_ms);
    else if (key == "token_delay_ms") ok = as_int(&b.token_delay_ms);
    else if (key == "reply") {
      if (v.is_string()) b.reply = v.get<std::string>();
      else ok = v.is_null();
    } else if (key == "malformed") ok = as_bool(&b.malformed);
    else if (key == "hang") ok = as_bool(&b.hang);
    else if (key == "truncate_after_tokens") ok = as_int(&b.truncate_after_tokens);
    else if (key == "close_after_tokens") ok = as_int(&b.close_after_tokens);
    else if (key == "reset_after_tokens") ok = as_int(&b.reset_after_tokens);
    else if (key == "vector_count_delta") ok = as_int(&b.vector_count_delta);
    else if (key == "dimension") ok = as_int(&b.dimension);
    else if (key == "reverse_order") ok = as_bool(&b.reverse_order);
    else if (key == "non_numeric") ok = as_bool(&b.non_numeric);
    else if (key == "obey_system") ok = as_bool(&b.obey_system);
    else return InvalidArgument("unknown_key", "unknown behaviour key '" + key + "'");
    if (!ok) return InvalidArgument("bad_type", "behaviour key '" + key + "' has the wrong type");
  }
  return b;
}

json MockBehaviour::ToJson() const {
  return {{"status", status},
          {"retry_after", retry_after},
          {"latency_ms", latency_ms},
          {"first_token_ms", first_token_ms},
          {"token_delay_ms", token_delay_ms},
          {"reply", reply ? json(*reply) : json(nullptr)},
          {"malformed", malformed},
          {"hang", hang},
          {"truncate_after_tokens", truncate_after_tokens},
          {"close_after_tokens", close_after_tokens},
          {"reset_after_tokens", reset_after_tokens},
          {"vector_count_delta", vector_count_delta},
          {"dimension", dimension},
          {"reverse_order", reverse_order},
          {"non_numeric", non_numeric},
          {"obey_system", obey_system}};
}

Result<MockScript> ParseMockScript(const json& script) {
  if (!script.is_object()) return InvalidArgument("bad_script", "the script is a JSON object");
  MockScript out;
  const char* names[2] = {"chat", "embeddings"};
  for (int i = 0; i < 2; ++i) {
    if (!script.contains(names[i])) continue;
    const json& l = script[names[i]];
    if (!l.is_object()) return InvalidArgument("bad_script", std::string("'") + names[i] + "' must be an object");
    for (const auto& [key, v] : l.items()) {
      if (key != "queue" && key != "default") return InvalidArgument("bad_script", "unknown lane key '" + key + "'");
    }
    if (l.contains("queue")) {
      if (!l["queue"].is_array()) return InvalidArgument("bad_script", "'queue' must be an array");
      out.lanes[i].queue.emplace();
      for (const json& item : l["queue"]) {
        Result<MockBehaviour> b = MockBehaviour::FromJson(item);
        if (!b.ok()) return b.status();
        out.lanes[i].queue->push_back(*b);
      }
    }
    if (l.contains("default")) {
      Result<MockBehaviour> b = MockBehaviour::FromJson(l["default"]);
      if (!b.ok()) return b.status();
      out.lanes[i].fallback = *b;
    }
  }
  for (const auto& [key, v] : script.items()) {
    if (key == "chat" || key == "embeddings") continue;
    if (key == "append" && v.is_boolean()) out.append = v.get<bool>();
    else if (key == "api_key" && v.is_string()) out.api_key = v.get<std::string>();
    else if (key == "model" && v.is_string()) out.model = v.get<std::string>();
    else if (key == "embedding_dimension" && v.is_number_integer() && v.get<int>() > 0) out.embedding_dimension = v.get<int>();
    else return InvalidArgument("bad_script", "unknown or mistyped script key '" + key + "'");
  }
  return out;
}

}  // namespace folio::test
