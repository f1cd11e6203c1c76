// access.cc: API keys, operator endpoints and CORS preflights, before routing.
#include "access.h"

#include <cctype>

#include "routes.h"

namespace folio {

namespace {

bool IsOpenAiPath(const std::string& path) { return path.rfind("/v1/", 0) == 0; }

// folio's error shape; on /v1/* OpenAI's (a superset: error.code and
// error.message are in both), so OpenAI SDKs raise their usual errors.
Response AccessError(const Status& status, const Request& request) {
  if (!IsOpenAiPath(request.path)) return ErrorResponse(status, request.request_id);
  int http = HttpStatusFor(status.code());
  const char* type = http == 401 ? "authentication_error" : http == 403 ? "permission_error" : "api_error";
  return JsonResponse(http, {{"error", {{"message", status.message()}, {"type", type}, {"param", nullptr},
                                        {"code", status.error()}}},
                             {"request_id", request.request_id}});
}

// The one answer for a missing and for a wrong key.
Response Unauthorized(const Request& request) {
  Response r = AccessError(Unauthenticated("unauthorized",
                                           "A valid API key is required: send it as \"Authorization: Bearer <key>\" "
                                           "or \"X-API-Key: <key>\"."),
                           request);
  r.AddHeader("WWW-Authenticate", "Bearer realm=\"folio\"");
  return r;
}

Response OperatorOnly(const Request& request, const char* why) {
  return AccessError(PermissionDenied("operator_only", std::string("This endpoint is for operators: ") + why),
                     request);
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What a presented key turned out to be.
struct Presented {
  KeyCheck check;  // against API_KEYS_FILE; invalid when no key was sent or there is no file
};

// Hashes the presented key once: its identity goes to the request (logs,
// limits), its digest to the key file.
Presented Present(Request* request, AccessPolicy& policy) {
  Presented p;
  std::string_view key = PresentedKey(*request);
  if (key.empty()) return p;
  Sha256Digest digest = Sha256(key);
  KeyIdentity id = IdentityOf(digest);
  request->key_tag = id.tag;
  if (policy.keys) p.check = policy.keys->Check(digest);
  // Only a key from the file names the client for the per-client limits.
  // Without a file anyone may send any key: were it the identity, a client
  // could buy a fresh budget (and LLM calls) with every request; the
  // client is then its address.
  if (p.check.valid) request->client_id = id.client_id;
  return p;
}

std::optional<Response> CheckOperator(Request* request, AccessPolicy& policy) {
  // These answer everyone, with details for operators only.
  const bool health = request->path == "/api/health" || request->path == "/ready";
  auto refuse = [&](std::optional<Response> answer) -> std::optional<Response> {
    if (!health) return answer;
    request->operator_view = false;  // the status, without details
    return std::nullopt;
  };
  switch (policy.locked ? OperatorAccess::kLoopback : policy.operator_access) {
    case OperatorAccess::kOpen:
      (void)Present(request, policy);
      return std::nullopt;
    case OperatorAccess::kLoopback:
      (void)Present(request, policy);
      if (IsLoopback(request->remote_addr)) return std::nullopt;
      return refuse(OperatorOnly(*request, "it answers on the instance itself only."));
    case OperatorAccess::kOperator: {
      Presented p = Present(request, policy);
      if (p.check.valid && p.check.role == KeyRole::kOperator) return std::nullopt;
      if (p.check.valid) return refuse(OperatorOnly(*request, "this key is not an operator key."));
      return refuse(Unauthorized(*request));
    }
  }
  return std::nullopt;
}

}  // namespace

AccessPolicy AccessPolicy::FromConfig(const Config& config) {
  AccessPolicy policy;
  const std::string& keys_file = config.settings().api_keys_file;
  if (!keys_file.empty()) policy.keys = ApiKeys::Open(keys_file);
  policy.operator_access = OperatorAccessOf(config);
  Result<CorsPolicy> cors = CorsPolicy::Parse(config.settings().cors_origins);
  if (cors.ok()) policy.cors = std::move(cors.value());
  return policy;
}

OperatorAccess OperatorAccessOf(const Config& config) {
  const std::string& access = config.settings().operator_access;
  if (access == "open") return OperatorAccess::kOpen;
  if (access == "loopback") return OperatorAccess::kLoopback;
  if (access == "operator") return OperatorAccess::kOperator;
  // "auto": with keys, operators are who hold an operator key; without,
  // the instance itself (an operator's curl, folio-admin).
  return config.settings().api_keys_file.empty() ? OperatorAccess::kLoopback : OperatorAccess::kOperator;
}

AccessPolicy AccessPolicy::Locked() {
  AccessPolicy policy;
  policy.locked = true;
  policy.operator_access = OperatorAccess::kLoopback;
  return policy;
}

std::string_view PresentedKey(const Request& request) {
  std::string_view key = TrimSpaces(request.api_key);
  if (!key.empty()) return key;
  std::string_view auth = TrimSpaces(request.authorization);
  constexpr std::string_view kScheme = "bearer";
  if (auth.size() <= kScheme.size() || !EqualsIgnoringCase(auth.substr(0, kScheme.size()), kScheme) ||
      (auth[kScheme.size()] != ' ' && auth[kScheme.size()] != '\t'))
    return {};
  return TrimSpaces(auth.substr(kScheme.size()));
}

bool IsLoopback(std::string_view addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}

std::optional<Response> CheckAccess(Request* request, AccessPolicy& policy) {
  const AccessClass cls = AccessClassOf(request->path);
  if (request->method == "OPTIONS" && policy.cors.enabled() && !request->origin.empty() &&
      (cls == AccessClass::kApi || cls == AccessClass::kOperator)) {
    if (!policy.cors.Allows(request->origin))
      return ErrorResponse(PermissionDenied("cors_origin_not_allowed", "This origin may not call the API."),
                           request->request_id);
    Response r;
    r.status = 204;
    for (auto& [name, value] : policy.cors.PreflightHeaders(request->origin)) r.AddHeader(name, value);
    return r;
  }
  switch (cls) {
    case AccessClass::kProbe:
    case AccessClass::kOpen:
      return std::nullopt;
    case AccessClass::kOperator:
      return CheckOperator(request, policy);
    case AccessClass::kProbeWithReason:  // never refused: the reason is for operators
      (void)CheckOperator(request, policy);
      return std::nullopt;
    case AccessClass::kApi: {
      if (policy.locked)
        return AccessError(Unavailable("not_ready", "This server's configuration is invalid; see /ready."), *request);
      Presented p = Present(request, policy);
      if (!policy.keys || p.check.valid) return std::nullopt;
      return Unauthorized(*request);
    }
  }
  return std::nullopt;
}

void AddCorsHeaders(const Request& request, const AccessPolicy& policy, Response* response) {
  for (auto& [name, value] : policy.cors.ResponseHeaders(request.origin)) response->AddHeader(name, value);
}

}  // namespace folio
