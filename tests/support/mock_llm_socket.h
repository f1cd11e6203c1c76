// mock_llm_socket.h: what the mock LLM does to the raw socket under an
// httplib connection, which httplib does not expose to handlers: find it,
// notice the client leaving, reset it. Linux-only (/proc, POLLRDHUP,
// tcp_disconnect). Safe from any thread; each call is a few syscalls.
#pragma once

namespace folio::test {

// The fd of our end of the TCP connection from client port `peer_port` to
// our `local_port`, found by scanning /proc/self/fd; -1 when not found.
// The fd stays owned by httplib: never close it.
int FindConnectionFd(int local_port, int peer_port);

// True once the peer has closed or reset the connection (POLLRDHUP/HUP/ERR).
// False for fd < 0.
bool ClientGone(int fd);

// Aborts the connection with a TCP RST but leaves the fd open (connect()
// with AF_UNSPEC: Linux's tcp_disconnect()), so its owner still closes it
// and the fd number cannot be reused under the owner's feet. Plain close()
// would send FIN, which a client reads as a clean (if early) end.
void ResetConnection(int fd);

// Shuts down (without closing) every accepted connection on `local_port`,
// so server threads parked on idle keep-alive connections return at once.
// Call only after the listener is closed. Each fd is re-checked right
// before its shutdown, so a number reused meanwhile is left alone.
void ShutdownConnections(int local_port);

}  // namespace folio::test
