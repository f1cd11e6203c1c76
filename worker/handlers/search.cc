// search.cc: POST /api/search {"query": "...", "k": 10} — hybrid (BM25 +
// vector) search over the knowledge base, for people and for debugging
// retrieval. parse → validate → embed → search → answer.
#include "handlers.h"
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

Response HandleSearch(const Request& request, App& app) {
  auto start = std::chrono::steady_clock::now();
  Result<SearchRequest> parsed = ParseSearchRequest(request);
  if (!parsed.ok()) return ErrorResponse(parsed.status(), request.request_id);

  ServingIndex::Current kb = app.index.Get();
  if (!kb.index) return ErrorResponse(app.index.status(), request.request_id);
  Result<std::vector<float>> vector = kb.embedder->Embed(parsed->query);
  if (!vector.ok()) return ErrorResponse(vector.status(), request.request_id);
  SearchOptions options;
  options.k = static_cast<size_t>(parsed->k);
  Result<std::vector<SearchHit>> hits = kb.index->Search(parsed->query, *vector, options);
  if (!hits.ok()) return ErrorResponse(hits.status(), request.request_id);

  nlohmann::json results = nlohmann::json::array();
  for (const SearchHit& hit : *hits)
    results.push_back({{"source", hit.source}, {"heading", hit.heading}, {"text", hit.text},
                       {"score", std::round(static_cast<double>(hit.score) * 10000) / 10000}});
  double took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return JsonResponse(200, {{"results", results},
                            {"kb_version", kb.index->manifest().kb_version},
                            {"took_ms", std::round(took_ms * 1000) / 1000}});
}

}  // namespace folio
