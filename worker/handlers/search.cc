// search.cc: POST /api/search {"query": "...", "k": 10} — hybrid search
// (BM25, and vectors when the index has them) over the knowledge base, for
// people and for debugging retrieval. parse → validate → embed → search →
// answer; on a chat thread when the index's embedder is remote (it may wait
// on its API).
#include "handlers.h"

#include "answer.h"
#include "json_body.h"
#include "log.h"

namespace folio {

namespace {

constexpr size_t kMaxQueryChars = 2000;
constexpr int kDefaultK = 10, kMaxK = 50;

struct SearchRequest {
  std::string query;
  int k = kDefaultK;
};

Result<SearchRequest> ParseSearchRequest(const Request& request) {
  Result<nlohmann::json> body = ParseJsonObject(request);
  if (!body.ok()) return body.status();
  SearchRequest out;
  auto query = body->find("query");
  if (query == body->end() || !query->is_string())
    return Unprocessable("invalid_query", "\"query\" must be a string.");
  out.query = query->get<std::string>();
  if (IsBlank(out.query)) return Unprocessable("invalid_query", "\"query\" must not be empty.");
  if (Utf8Length(out.query) > kMaxQueryChars)
    return Unprocessable("invalid_query", "\"query\" is longer than 2000 characters.");
  auto k = body->find("k");
  if (k != body->end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<int64_t>() < 1 || k->get<int64_t>() > kMaxK)
      return Unprocessable("invalid_k", "\"k\" must be an integer from 1 to 50.");
    out.k = static_cast<int>(k->get<int64_t>());
  }
  return out;
}

}  // namespace

Step HandleSearch(const Request& request, App& app) {
  const auto start = request.received_at;
  Result<SearchRequest> parsed = ParseSearchRequest(request);
  if (!parsed.ok()) return {ErrorResponse(parsed.status(), request.request_id), {}};
  ServingIndex::Current kb = app.index.Get();
  if (!kb.index) return {ErrorResponse(app.index.status(), request.request_id), {}};
  auto search = [kb, parsed = std::move(parsed.value()), request_id = request.request_id, start] {
    Result<std::vector<SearchHit>> hits = SearchIndex(kb, parsed.query, static_cast<size_t>(parsed.k));
    if (!hits.ok()) return ErrorResponse(hits.status(), request_id);
    nlohmann::json results = nlohmann::json::array();
    for (const SearchHit& hit : *hits)
      results.push_back({{"source", hit.source}, {"heading", hit.heading}, {"text", hit.text},
                         {"score", std::round(static_cast<double>(hit.score) * 10000) / 10000}});
    double took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return JsonResponse(200, {{"results", results},
                              {"kb_version", kb.index->manifest().kb_version},
                              {"took_ms", std::round(took_ms * 1000) / 1000}});
  };
  // A local embedder answers here in microseconds; a remote one may wait
  // seconds on its API, which is a chat thread's job.
  if (kb.embedder && kb.embedder->remote()) return {std::nullopt, std::move(search)};
  return {search(), {}};
}

}  // namespace folio
