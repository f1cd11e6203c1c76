// http_client.cc: the one file of folio that includes <curl/curl.h>; it
// turns libcurl's error codes into folio Statuses.
//
// Design notes:
// - One easy handle per HttpClient, curl_easy_reset() between calls: reset
//   clears options but keeps the connection cache and TLS session ids, which
//   is the point of reusing the handle.
// - The deadline becomes CURLOPT_TIMEOUT_MS from the time left, so a slow
//   upstream can never hold a worker thread past the request deadline.
// - Aborts we cause (callback returned false, cancel flag, size cap) are
//   recorded in the Transfer before curl sees them, so the resulting
//   CURLE_WRITE_ERROR / CURLE_ABORTED_BY_CALLBACK maps to the right Status.
// - CURLOPT_NOSIGNAL=1: with threads, curl must not use SIGALRM for DNS
//   timeouts. The process should ignore SIGPIPE (OpenSSL writes can raise it).
#include "http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>

namespace folio {

namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  // Never cleaned up: the process owns curl until exit, and cleanup while
  // another thread still has a handle would be undefined.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// RAII owner of a curl_slist (the request headers of one call).
class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() { curl_slist_free_all(list_); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  // False when curl could not allocate.
  bool Append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) return false;
    list_ = next;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

enum class Abort { kNone, kCancelled, kTooLarge };

// Per-call state the callbacks write into.
struct Transfer {
  CURL* easy = nullptr;
  const HttpCallOptions* options = nullptr;
  HttpResult* result = nullptr;
  size_t received = 0;
  Abort abort = Abort::kNone;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  t->received += len;
  if (t->received > t->options->max_response_bytes) {
    t->abort = Abort::kTooLarge;
    return 0;  // anything != len makes curl fail with CURLE_WRITE_ERROR
  }
  long code = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  if (t->options->on_body && code >= 200 && code < 300) {
    if (!t->options->on_body(std::string_view(data, len))) {
      t->abort = Abort::kCancelled;
      return 0;
    }
  } else {
    t->result->body.append(data, len);
  }
  return len;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool NameIs(std::string_view name, std::string_view want) {
  return name.size() == want.size() &&
         std::equal(name.begin(), name.end(), want.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  std::string_view line(data, len);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response begins (after a 100 Continue, say): forget the last one's headers.
    t->result->retry_after_seconds.reset();
    t->result->content_type.clear();
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string_view name = Trim(line.substr(0, colon));
  std::string_view value = Trim(line.substr(colon + 1));
  if (NameIs(name, "retry-after")) {
    t->result->retry_after_seconds = ParseRetryAfter(value, UnixNow());
  } else if (NameIs(name, "content-type")) {
    t->result->content_type = std::string(value);
  }
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->options->cancel != nullptr && t->options->cancel->load(std::memory_order_relaxed)) {
    t->abort = Abort::kCancelled;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

Status CancelledStatus() { return Unavailable(Reason::kCancelled, "the upstream call was cancelled"); }

// Maps a failed transfer to a Status. `errbuf` is curl's detail line; it
// names host and port at most (keys travel in headers, never in the URL).
Status MapError(CURLcode rc, const Transfer& t, const char* errbuf, const HttpCallOptions& options) {
  if (t.abort == Abort::kCancelled) return CancelledStatus();
  if (t.abort == Abort::kTooLarge || rc == CURLE_FILESIZE_EXCEEDED) {
    return Unavailable(Reason::kUpstreamTooLarge,
                       "upstream response exceeded " + std::to_string(options.max_response_bytes) + " bytes");
  }
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0;
      curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connect_us);
      if (connect_us == 0 && !options.deadline.Expired()) {
        // The connect timeout fired, not the deadline: the host is not answering.
        return Unavailable("upstream_unreachable", "could not connect to upstream: " + detail);
      }
      return DeadlineExceeded("upstream_timeout", "upstream did not answer in time: " + detail);
    }
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return Unavailable("upstream_unreachable", "could not connect to upstream: " + detail);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Unavailable("upstream_connection_lost", "upstream connection lost: " + detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
      return Unavailable(Reason::kUpstreamTls, "TLS with upstream failed: " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument("bad_upstream_url", "upstream URL is not usable: " + detail);
    default:
      return Unavailable("upstream_error", "upstream call failed: " + detail);
  }
}

}  // namespace

struct HttpClient::Handle {
  CURL* easy = nullptr;
  Handle() : easy(curl_easy_init()) {}
  ~Handle() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

HttpClient::HttpClient() {
  GlobalInitOnce();
  handle_ = std::make_unique<Handle>();
}

HttpClient::~HttpClient() = default;

Result<HttpResult> HttpClient::Post(const std::string& url, const HttpHeaders& headers, std::string_view body,
                                    const HttpCallOptions& options) {
  return Perform(url, headers, &body, options);
}

Result<HttpResult> HttpClient::Get(const std::string& url, const HttpHeaders& headers,
                                   const HttpCallOptions& options) {
  return Perform(url, headers, nullptr, options);
}

Result<HttpResult> HttpClient::Perform(const std::string& url, const HttpHeaders& headers,
                                       const std::string_view* body, const HttpCallOptions& options) {
  CURL* easy = handle_->easy;
  if (easy == nullptr) return Internal("curl_init_failed", "could not create a curl handle");
  const long remaining_ms = static_cast<long>(options.deadline.Remaining().count());
  if (remaining_ms <= 0) return DeadlineExceeded("upstream_timeout", "deadline passed before the upstream call");
  if (options.cancel != nullptr && options.cancel->load()) return CancelledStatus();

  HeaderList header_list;
  for (const auto& [name, value] : headers) {
    if (!header_list.Append(name + ": " + value)) return Internal("out_of_memory", "could not build request headers");
  }
  // No "Expect: 100-continue" round trip for large bodies: the APIs we call never need it.
  if (!header_list.Append("Expect:")) return Internal("out_of_memory", "could not build request headers");

  HttpResult result;
  Transfer transfer;
  transfer.easy = easy;
  transfer.options = &options;
  transfer.result = &result;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "folio/" FOLIO_VERSION);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, remaining_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   std::max(1L, std::min(remaining_ms, static_cast<long>(options.connect_timeout.count()))));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_bytes));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  if (body != nullptr) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body->data());  // not copied: *body outlives perform
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }

  CURLcode rc = curl_easy_perform(easy);
  // The header list and errbuf die with this frame: make sure the handle
  // holds no pointer into them once we return.
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) return MapError(rc, transfer, errbuf, options);
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  result.status = static_cast<int>(code);
  return result;
}

bool IsCancelled(const Status& status) { return status.Is(Reason::kCancelled); }

std::optional<int> ParseRetryAfter(std::string_view value, int64_t now_unix) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return 1000000000;  // absurd but numeric: clamp, callers cap their waits
    return std::stoi(std::string(value));
  }
  std::string date(value);
  time_t at = curl_getdate(date.c_str(), nullptr);
  if (at == -1) return std::nullopt;
  int64_t delta = static_cast<int64_t>(at) - now_unix;
  return static_cast<int>(std::clamp<int64_t>(delta, 0, 1000000000));
}

}  // namespace folio
