// serve/server.h: `sluice serve`, the dashboard's HTTP server (cpp-httplib, kept inside
// server.cpp): the embedded page and its assets, the read-only /api (docs/api.md), and, only with
// `allow_actions`, the POST actions that start `sluice repair` / `sluice cancel` as child processes
// so a request never waits for a run.
//
// Safe by default: binds 127.0.0.1; refuses every POST unless actions are on; with actions, every
// POST needs the token (X-Sluice-Token header, compared in constant time) and is refused when it
// carries a foreign Origin or a cross-site Sec-Fetch-Site; requests whose Host header names
// another host than the one bound are refused (DNS rebinding). Pages get a Content-Security-
// Policy without inline scripts; partners' values are rendered as text by the page.
// Thread-safety: Serve() blocks the calling thread until SIGINT or SIGTERM.
#pragma once

#include <functional>
#include <string>

#include "core/status.h"
#include "serve/backend.h"

namespace sluice::serve {

struct ServeOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (printed)
  bool allow_actions = false;
  std::string token;          // required for POSTs when allow_actions (SLUICE_SERVE_TOKEN)
  std::string sluice_binary;  // started for repair and cancel
  int threads = 8;
};

// Serves until SIGINT/SIGTERM, calling `on_listening(port)` once the socket listens.
// IoError when the address cannot be bound (naming it); InvalidArgument for allow_actions
// without a token.
Status Serve(Backend& backend, const ServeOptions& options,
             const std::function<void(int port)>& on_listening);

}  // namespace sluice::serve
