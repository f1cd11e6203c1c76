// openai_embedder.cc: request building, the retry loop and response checks.
//
// Retries follow retry_policy.h: a failure is retried when trying again can
// help (the connection failed or was lost, an attempt timed out — each has
// its own call_timeout —, the server said 408, 429 or 5xx), not when the
// request itself is wrong or the response is malformed (the server would
// answer the same). A Retry-After is a lower bound on the wait; one of
// max_retry_after or more ends the call at once so a request thread is not
// parked.
#include "openai_embedder.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "log.h"
#include "retry_policy.h"

namespace folio {

namespace {

using nlohmann::json;

// One HttpClient per thread: the client is not thread-safe, and a
// thread-local one keeps its connections warm across calls on that thread.
HttpClient& ThreadClient() {
  static thread_local HttpClient client;
  return client;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The Status for a non-2xx answer (classified by retry_policy.h). Never
// quotes the body: it may echo input.
Status HttpError(UpstreamAnswer answer, int status) {
  const std::string what = "embeddings endpoint answered HTTP " + std::to_string(status);
  switch (answer) {
    case UpstreamAnswer::kKeyRejected: return Unavailable("upstream_auth_failed", what + " (check OPENAI_API_KEY)");
    case UpstreamAnswer::kRateLimited: return Unavailable("upstream_rate_limited", what);
    case UpstreamAnswer::kUnavailable: return Unavailable("upstream_error", what);
    case UpstreamAnswer::kRejected: break;
  }
  return Unavailable("upstream_rejected", what);
}

Status BadResponse(const std::string& why) {
  return Unavailable("upstream_bad_response", "embeddings endpoint sent an unusable response: " + why);
}

}  // namespace

OpenAiEmbedder::OpenAiEmbedder(OpenAiEmbedderOptions options)
    : options_(std::move(options)), url_(TrimSlash(options_.base_url) + "/embeddings"), dimension_(options_.dimension) {}

std::string OpenAiEmbedder::name() const { return "openai:" + options_.model; }

Status OpenAiEmbedder::EmbedBatch(const std::vector<std::string>& texts, std::vector<std::vector<float>>* out) {
  out->clear();
  std::vector<std::vector<float>> result(texts.size());
  const size_t batch = static_cast<size_t>(std::max(1, options_.batch_size));
  std::vector<std::string> pending;  // non-empty texts of the current batch
  std::vector<size_t> slots;         // their positions in `texts`
  auto flush = [&]() -> Status {
    if (pending.empty()) return Status::Ok();
    std::vector<std::vector<float>> vectors;
    if (Status s = EmbedRequest(pending, &vectors); !s.ok()) return s;
    for (size_t i = 0; i < slots.size(); ++i) result[slots[i]] = std::move(vectors[i]);
    pending.clear();
    slots.clear();
    return Status::Ok();
  };
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty()) continue;  // zero vector below, once the dimension is known
    pending.push_back(texts[i]);
    slots.push_back(i);
    if (pending.size() == batch) {
      if (Status s = flush(); !s.ok()) return s;
    }
  }
  if (Status s = flush(); !s.ok()) return s;
  for (std::vector<float>& v : result) {
    if (!v.empty()) continue;
    if (dimension() <= 0) {
      return Unprocessable("dimension_unknown", "cannot embed only empty texts before the dimension is known");
    }
    v.assign(static_cast<size_t>(dimension()), 0.0f);
  }
  *out = std::move(result);
  return Status::Ok();
}

Status OpenAiEmbedder::EmbedRequest(const std::vector<std::string>& texts, std::vector<std::vector<float>>* out) {
  json request = {{"model", options_.model}, {"input", texts}};
  if (options_.request_dimensions && options_.dimension > 0) request["dimensions"] = options_.dimension;
  const std::string body = request.dump(-1, ' ', false, json::error_handler_t::replace);
  HttpHeaders headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!options_.api_key.empty()) headers.emplace_back("Authorization", "Bearer " + options_.api_key);

  Status last;
  for (int attempt = 0;; ++attempt) {
    HttpCallOptions call;
    call.connect_timeout = options_.connect_timeout;
    call.deadline = Deadline::After(options_.call_timeout);
    Result<HttpResult> r = ThreadClient().Post(url_, headers, body, call);
    std::optional<int> retry_after;
    if (!r.ok()) {
      last = r.status();
      if (!IsRetryableTransport(last)) return last;
    } else if (r->status >= 200 && r->status < 300) {
      return ParseResponse(r->body, texts.size(), out);
    } else {
      const UpstreamAnswer answer = ClassifyHttpStatus(r->status);
      last = HttpError(answer, r->status);
      if (!IsRetryable(answer)) return last;
      retry_after = r->retry_after_seconds;
    }
    const RetryWait wait = NextRetryWait({options_.retries, options_.backoff_initial, options_.backoff_max}, attempt,
                                         retry_after, options_.max_retry_after);
    if (wait.kind != RetryWait::Kind::kWait) return last;
    const std::chrono::milliseconds delay = wait.delay;
    LogWarn("embed_retry", {{"attempt", attempt + 1},
                            {"error", last.error()},
                            {"detail", Excerpt(last.message(), 160)},
                            {"delay_ms", delay.count()},
                            {"inputs", texts.size()}});
    std::this_thread::sleep_for(delay);
  }
}

Status OpenAiEmbedder::ParseResponse(const std::string& body, size_t n, std::vector<std::vector<float>>* out) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return BadResponse("not a JSON object");
  if (!doc.contains("data") || !doc["data"].is_array()) return BadResponse("no \"data\" array");
  const json& data = doc["data"];
  if (data.size() != n) {
    return BadResponse(std::to_string(data.size()) + " vectors for " + std::to_string(n) + " inputs");
  }
  std::vector<std::vector<float>> vectors(n);
  for (size_t i = 0; i < n; ++i) {
    const json& item = data[i];
    if (!item.is_object()) return BadResponse("a \"data\" item is not an object");
    // Servers may answer out of order: "index" is authoritative (default: position).
    size_t index = i;
    if (item.contains("index")) {
      if (!item["index"].is_number_unsigned() && !item["index"].is_number_integer()) return BadResponse("bad index");
      const int64_t k = item["index"].get<int64_t>();
      if (k < 0 || static_cast<size_t>(k) >= n) return BadResponse("index out of range");
      index = static_cast<size_t>(k);
    }
    if (!vectors[index].empty()) return BadResponse("duplicate index");
    if (!item.contains("embedding") || !item["embedding"].is_array() || item["embedding"].empty()) {
      return BadResponse("an item has no \"embedding\" array");
    }
    std::vector<float>& v = vectors[index];
    v.reserve(item["embedding"].size());
    double norm2 = 0;
    for (const json& x : item["embedding"]) {
      if (!x.is_number()) return BadResponse("a vector holds a non-number");
      const double d = x.get<double>();
      if (!std::isfinite(d) || std::fabs(d) > 3.0e38) return BadResponse("a vector holds a non-finite number");
      v.push_back(static_cast<float>(d));
      norm2 += d * d;
    }
    if (norm2 > 0) {
      const double inv = 1.0 / std::sqrt(norm2);
      for (float& f : v) f = static_cast<float>(f * inv);
    }
  }
  // Every vector must have the one dimension: configured, or learned from
  // the first response any thread saw.
  int want = dimension();
  const int got = static_cast<int>(vectors[0].size());
  if (want == 0 && dimension_.compare_exchange_strong(want, got, std::memory_order_acq_rel)) want = got;
  for (const std::vector<float>& v : vectors) {
    if (static_cast<int>(v.size()) != want) {
      return BadResponse("a vector has " + std::to_string(v.size()) + " dimensions, expected " + std::to_string(want));
    }
  }
  *out = std::move(vectors);
  return Status::Ok();
}

}  // namespace folio
