// status.cc: the code → HTTP status mapping (the only one in folio) and the
// tokens of the reasons callers branch on.
#include "status.h"

namespace folio {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kPayloadTooLarge: return 413;
    case Code::kUnsupportedMedia: return 415;
    case Code::kUnprocessable: return 422;
    case Code::kResourceExhausted: return 429;
    case Code::kInternal: return 500;
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
  }
  return 500;
}

namespace {

struct ReasonName {
  Reason reason;
  const char* token;
};
constexpr ReasonName kReasons[] = {
    {Reason::kCancelled, "cancelled"},
    {Reason::kTimeout, "timeout"},
    {Reason::kStoreFull, "store_full"},
    {Reason::kUpstreamAuth, "upstream_auth"},
    {Reason::kUpstreamTls, "upstream_tls"},
    {Reason::kUpstreamTooLarge, "upstream_response_too_large"},
    {Reason::kLlmNotConfigured, "llm_not_configured"},
    {Reason::kBreakerOpen, "breaker_open"},
    {Reason::kBudgetExhausted, "budget_exhausted"},
    {Reason::kShed, "shed"},
};

}  // namespace

const char* ReasonToken(Reason reason) {
  for (const ReasonName& r : kReasons)
    if (r.reason == reason) return r.token;
  return "";
}

Reason ReasonOfToken(std::string_view token) {
  for (const ReasonName& r : kReasons)
    if (token == r.token) return r.reason;
  return Reason::kNone;
}

Status StatusFromToken(Code code, std::string token, std::string message) {
  const Reason reason = ReasonOfToken(token);
  if (reason != Reason::kNone) return Status(code, reason, std::move(message));
  return Status(code, std::move(token), std::move(message));
}

}  // namespace folio
