// status.h: the one error type of folio. Every fallible function returns a
// Status or a Result<T>; no exception crosses a module boundary.
// Each code has exactly one HTTP meaning, kept in HttpStatusFor() so the
// mapping lives in one place (see status.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace folio {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // 400 (malformed request) — see kUnprocessable for 422
  kUnprocessable,       // 422: well-formed but semantically invalid input
  kUnauthenticated,     // 401
  kPermissionDenied,    // 403: authenticated, but not allowed this
  kNotFound,            // 404
  kMethodNotAllowed,    // 405
  kPayloadTooLarge,     // 413
  kUnsupportedMedia,    // 415
  kResourceExhausted,   // 429
  kInternal,            // 500
  kUnavailable,         // 503
  kDeadlineExceeded,    // 504
};

// Why a call failed, for the failures some caller branches on: retry or
// not, fall back or not, make room or not. Each has one fixed token, which
// is what error() returns, so clients and logs read the same strings as
// before; callers test reason(), never the token. kNone: a failure that is
// only reported, named by its own token.
enum class Reason : uint8_t {
  kNone = 0,
  kCancelled,          // "cancelled": the caller or its client gave up
  kTimeout,            // "timeout": the request's deadline passed
  kStoreFull,          // "store_full": an LMDB map is full (or down to its reserve)
  kUpstreamAuth,       // "upstream_auth": the LLM API rejected our key
  kUpstreamTls,        // "upstream_tls": TLS handshake or certificate problem
  kUpstreamTooLarge,   // "upstream_response_too_large"
  kLlmNotConfigured,   // "llm_not_configured": no API key, a normal mode
  kBreakerOpen,        // "breaker_open": the circuit breaker refused the call
  kBudgetExhausted,    // "budget_exhausted": the day's LLM token budget is spent
  kShed,               // "shed": every upstream slot was busy
};

// The token of a reason ("" for kNone).
const char* ReasonToken(Reason reason);
// The reason a token names, for tokens read back from storage (a failed
// in-flight entry, a cached answer's degraded_reason); kNone for any other.
Reason ReasonOfToken(std::string_view token);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string error, std::string message)
      : code_(code), error_(std::move(error)), message_(std::move(message)) {}
  // A failure callers branch on: error() is the reason's token.
  Status(Code code, Reason reason, std::string message)
      : code_(code), reason_(reason), error_(ReasonToken(reason)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  Reason reason() const { return reason_; }
  bool Is(Reason reason) const { return reason_ == reason && reason != Reason::kNone; }
  // error(): stable snake_case token for machines ("invalid_json").
  const std::string& error() const { return error_; }
  // message(): one sentence for a person. Never contains secrets.
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "ok" : error_ + ": " + message_; }

 private:
  Code code_ = Code::kOk;
  Reason reason_ = Reason::kNone;
  std::string error_;
  std::string message_;
};

// Shorthands, so call sites read `return InvalidArgument("bad_id", "...")`.
inline Status InvalidArgument(std::string e, std::string m) { return {Code::kInvalidArgument, std::move(e), std::move(m)}; }
inline Status Unprocessable(std::string e, std::string m) { return {Code::kUnprocessable, std::move(e), std::move(m)}; }
inline Status Unauthenticated(std::string e, std::string m) { return {Code::kUnauthenticated, std::move(e), std::move(m)}; }
inline Status PermissionDenied(std::string e, std::string m) { return {Code::kPermissionDenied, std::move(e), std::move(m)}; }
inline Status NotFound(std::string e, std::string m) { return {Code::kNotFound, std::move(e), std::move(m)}; }
inline Status Internal(std::string e, std::string m) { return {Code::kInternal, std::move(e), std::move(m)}; }
inline Status Unavailable(std::string e, std::string m) { return {Code::kUnavailable, std::move(e), std::move(m)}; }
inline Status DeadlineExceeded(std::string e, std::string m) { return {Code::kDeadlineExceeded, std::move(e), std::move(m)}; }
inline Status ResourceExhausted(std::string e, std::string m) { return {Code::kResourceExhausted, std::move(e), std::move(m)}; }
inline Status Unavailable(Reason r, std::string m) { return {Code::kUnavailable, r, std::move(m)}; }
inline Status DeadlineExceeded(Reason r, std::string m) { return {Code::kDeadlineExceeded, r, std::move(m)}; }
inline Status ResourceExhausted(Reason r, std::string m) { return {Code::kResourceExhausted, r, std::move(m)}; }

// A failure whose token was read back from storage (another process's
// failed in-flight entry): it carries the reason that token names.
Status StatusFromToken(Code code, std::string token, std::string message);

// The HTTP status for a code. The single place this mapping lives.
int HttpStatusFor(Code code);

// Result<T>: a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}    // NOLINT: REQUIRES: !status.ok()

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace folio
