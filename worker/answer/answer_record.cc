// answer_record.cc: encoding, viewing and decoding answer records.
#include "answer_record.h"

#include <cmath>

#include "coalesced_answer.h"
#include "coding.h"

namespace folio {

namespace {

constexpr uint8_t kFormat = 1;

std::string StringOr(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int IntOr(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

nlohmann::json SourcesJson(const std::vector<Passage>& sources) {
  nlohmann::json out = nlohmann::json::array();
  for (const Passage& p : sources)
    out.push_back({{"source", p.source}, {"heading", p.heading}, {"score", std::round(p.score * 10000) / 10000},
                   {"text", PassageExcerpt(p.text)}});
  return out;
}

nlohmann::json DegradedReasonJson(const ChatOutput& out) {
  if (!out.degraded) return nullptr;
  return out.degraded_reason.empty() ? "upstream_unavailable" : out.degraded_reason;
}

std::string AnswerJsonMembers(const ChatOutput& out) {
  nlohmann::json members = {{"response", out.text},
                            {"sources", SourcesJson(out.sources)},
                            {"degraded", out.degraded},
                            {"degraded_reason", DegradedReasonJson(out)},
                            {"usage", {{"prompt_tokens", out.prompt_tokens}, {"completion_tokens", out.completion_tokens}}}};
  std::string object = members.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return object.substr(1, object.size() - 2);  // without the braces
}

std::string EncodeAnswerRecord(const ChatOutput& out) {
  const std::string members = AnswerJsonMembers(out);
  std::string record;
  record.reserve(9 + out.text.size() + members.size());
  record.push_back(static_cast<char>(kFormat));
  PutU32(&record, static_cast<uint32_t>(out.text.size()));
  record += out.text;
  PutU32(&record, static_cast<uint32_t>(members.size()));
  record += members;
  return record;
}

bool ViewAnswerRecord(std::string_view bytes, AnswerRecordView* view) {
  ByteReader r(bytes);
  uint8_t format = 0;
  uint32_t text_bytes = 0, member_bytes = 0;
  std::string_view text;
  if (!r.U8(&format) || format != kFormat) return false;
  if (!r.U32(&text_bytes) || !r.View(text_bytes, &text)) return false;
  if (!r.U32(&member_bytes) || r.remaining() != member_bytes) return false;
  view->text = text;
  view->members = r.rest();
  return true;
}

bool DecodeAnswerRecord(std::string_view bytes, ChatOutput* out) {
  AnswerRecordView view;
  if (!ViewAnswerRecord(bytes, &view)) return false;
  std::string object = "{";
  object.append(view.members).append("}");
  const nlohmann::json j = nlohmann::json::parse(object, nullptr, false);
  if (!j.is_object()) return false;
  ChatOutput decoded;
  decoded.text = std::string(view.text);
  decoded.degraded = j.contains("degraded") && j["degraded"].is_boolean() && j["degraded"].get<bool>();
  decoded.degraded_reason = StringOr(j, "degraded_reason");
  if (auto usage = j.find("usage"); usage != j.end() && usage->is_object()) {
    decoded.prompt_tokens = IntOr(*usage, "prompt_tokens");
    decoded.completion_tokens = IntOr(*usage, "completion_tokens");
  }
  if (auto sources = j.find("sources"); sources != j.end() && sources->is_array())
    for (const auto& s : *sources)
      if (s.is_object() && s.contains("source") && s["source"].is_string())
        decoded.sources.push_back({s["source"].get<std::string>(), StringOr(s, "heading"), StringOr(s, "text"),
                                   s.contains("score") && s["score"].is_number() ? s["score"].get<double>() : 0.0, {}});
  *out = std::move(decoded);
  return true;
}

}  // namespace folio
