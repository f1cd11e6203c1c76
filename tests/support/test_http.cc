// test_http.cc: blocking sockets with poll() deadlines.
#include "test_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "poll_until.h"

namespace folio::test {

int ConnectLoopback(int port, int rcvbuf, const std::string& source, std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    rc = poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
                 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
             ? 0
             : -1;
  }
  if (rc != 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, flags);
  return fd;
}

namespace {

// Sends `bytes`, then reads until the server closes, `timeout` passes, or
// `on_data` (when set) returns false after a read.
std::string Exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                     const std::function<bool(const std::string& so_far)>& on_data = nullptr,
                     const std::string& source = "") {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = ConnectLoopback(port, 0, source, timeout);
  if (fd < 0) return "";
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse early (413); read what it said
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (on_data && !on_data(out)) break;
  }
  close(fd);
  return out;
}

std::string Dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (len == 0) break;
    out += body.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

}  // namespace

nlohmann::json HttpResponse::Json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpResponse ParseHttpResponse(const std::string& raw) {
  HttpResponse r;
  r.raw = raw;
  size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || head_end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      size_t v = line.find_first_not_of(' ', colon + 1);
      r.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    pos = eol + 2;
  }
  r.body = raw.substr(head_end + 4);
  if (r.Header("transfer-encoding") == "chunked") r.body = Dechunk(r.body);
  return r;
}

HttpResponse Http(int port, const std::string& method, const std::string& path, const std::string& body,
                  const HttpOptions& options) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : options.headers) {
    req += k + ": " + v + "\r\n";
    has_type |= (k == "Content-Type");
  }
  if (!body.empty() || method == "POST") {
    if (!has_type) req += "Content-Type: application/json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  return ParseHttpResponse(Exchange(port, req, options.timeout, nullptr, options.source));
}

std::string StreamHttp(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers,
                       const std::function<bool(const std::string& so_far)>& on_data,
                       std::chrono::milliseconds timeout) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return Exchange(port, req, timeout, on_data);
}

HttpResponse RawHttp(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  return ParseHttpResponse(Exchange(port, bytes, timeout));
}

HttpResponse PollHttp(int port, const std::string& path, const std::function<bool(const HttpResponse&)>& accept,
                      std::chrono::milliseconds deadline) {
  HttpResponse last;
  PollUntil(
      [&] {
        last = Http(port, "GET", path, "", {{}, std::chrono::milliseconds(2000)});
        return accept(last);
      },
      deadline, std::chrono::milliseconds(25));
  return last;
}

namespace {

// Bytes received and not yet read on the loopback TCP connection from
// `local_port` to `remote_port`, from /proc/net/tcp; -1 if there is none.
long UnreadBytes(unsigned local_port, unsigned remote_port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    // "sl local_address rem_address st tx_queue:rx_queue ...", ports in hex.
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    if (!(fields >> slot >> local >> remote >> state >> queues)) continue;
    auto port_of = [](const std::string& address) { return std::stoul(address.substr(address.find(':') + 1), nullptr, 16); };
    if (port_of(local) != local_port || port_of(remote) != remote_port || state != "01") continue;  // 01: established
    return std::stol(queues.substr(queues.find(':') + 1), nullptr, 16);
  }
  return -1;
}

}  // namespace

bool WaitUntilServerRead(int fd, std::chrono::milliseconds deadline) {
  sockaddr_in client{}, server{};
  socklen_t len = sizeof client;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&client), &len) != 0) return false;
  len = sizeof server;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&server), &len) != 0) return false;
  // The server's end: its local port is the one we connected to.
  return PollUntil([&] { return UnreadBytes(ntohs(server.sin_port), ntohs(client.sin_port)) == 0; }, deadline,
                   std::chrono::milliseconds(2));
}

}  // namespace folio::test
