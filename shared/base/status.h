// status.h: the one error type of folio. Every fallible function returns a
// Status or a Result<T>; no exception crosses a module boundary.
// Each code has exactly one HTTP meaning, kept in HttpStatusFor() so the
// mapping lives in one place (see status.cc).
#pragma once

#include <optional>
#include <string>
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

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string error, std::string message)
      : code_(code), error_(std::move(error)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // error(): stable snake_case token for machines ("invalid_json").
  const std::string& error() const { return error_; }
  // message(): one sentence for a person. Never contains secrets.
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "ok" : error_ + ": " + message_; }

 private:
  Code code_ = Code::kOk;
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
