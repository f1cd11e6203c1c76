// test_http.h: a deliberately small HTTP/1.1 client for tests, over a raw
// loopback socket, so tests can send exactly the bytes they mean (hostile
// input included) and see exactly what came back. One connection per call
// ("Connection: close"); chunked bodies are decoded. Not thread-safe per
// call object; free functions are safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace folio::test {

struct HttpResponse {
  int status = 0;                              // 0: no response (connection failed or closed)
  std::map<std::string, std::string> headers;  // names lowercased; last one wins
  std::string body;                            // de-chunked
  std::string raw;                             // exactly what came back
  nlohmann::json Json() const;                 // discarded value when not JSON
  std::string Header(const std::string& name) const;
};

struct HttpOptions {
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds timeout{10000};  // the whole exchange, connecting included
  std::string source{};  // local address to connect from ("127.0.0.2": another client); "" = the kernel's choice
};

// A TCP connection to 127.0.0.1:port (SO_RCVBUF set when rcvbuf > 0), from
// `source` when given, or -1 (also when not connected within `timeout`: a
// server whose accept queue is full leaves a connect hanging).
int ConnectLoopback(int port, int rcvbuf = 0, const std::string& source = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

HttpResponse Http(int port, const std::string& method, const std::string& path, const std::string& body = "",
                  const HttpOptions& options = {});

// Sends `bytes` verbatim and returns everything read until the server closes
// or `timeout` passes. Used for malformed requests.
HttpResponse RawHttp(int port, const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Sends a request and hands every piece of the raw response to `on_data` as
// it arrives; stops when on_data returns false (the connection is then
// closed: a client going away), the server closes, or `timeout` passes.
// Returns everything read.
std::string StreamHttp(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers,
                       const std::function<bool(const std::string& so_far)>& on_data,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Parses a raw HTTP response (status line, headers, chunked or plain body).
HttpResponse ParseHttpResponse(const std::string& raw);

// Polls GET `path` until `accept(response)` or the deadline. Returns the last response.
HttpResponse PollHttp(int port, const std::string& path, const std::function<bool(const HttpResponse&)>& accept,
                      std::chrono::milliseconds deadline);

// Waits until the server has read every byte sent so far on the loopback
// connection `fd` (its end of the connection has nothing left to read):
// the server accepted it and holds what the test sent, a half-sent
// request included. False if not within `deadline`.
bool WaitUntilServerRead(int fd, std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace folio::test
