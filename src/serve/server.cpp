#include "serve/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "core/logging.h"
#include "serve/assets.h"
#include "views/run_views.h"
#include "workflow/scheduler.h"

namespace sluice::serve {

namespace {

namespace fs = std::filesystem;

constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

int HttpStatusFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, const nlohmann::json& body, int status = 200) {
  res.status = status;
  // Invalid UTF-8 from a partner's file is replaced rather than failing the whole answer.
  res.set_content(log::Redact(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
                  "application/json; charset=utf-8");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, {{"error", message}}, status);
}

void SendResult(httplib::Response& res, const Result<nlohmann::json>& result) {
  if (result.ok()) {
    SendJson(res, *result);
  } else {
    SendError(res, HttpStatusFor(result.status()), result.status().ToString());
  }
}

// Constant-time comparison, so the token cannot be guessed byte by byte from response times.
bool SameSecret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  }
  return diff == 0 && !b.empty();
}

// "host" of a "host:port" Host header ("[::1]:8080" -> "[::1]").
std::string HostName(const std::string& host_header) {
  if (!host_header.empty() && host_header[0] == '[') {
    return host_header.substr(0, host_header.find(']') + 1);
  }
  return host_header.substr(0, host_header.find(':'));
}

bool IsLoopbackBind(const std::string& bind) {
  return bind == "127.0.0.1" || bind == "localhost" || bind == "::1";
}

int IntParam(const httplib::Request& req, const char* name, int fallback, int lo, int hi) {
  if (!req.has_param(name)) return fallback;
  try {
    int v = std::stoi(req.get_param_value(name));
    return std::clamp(v, lo, hi);
  } catch (const std::exception&) {
    return fallback;
  }
}

bool ValidRunId(const std::string& id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// An action the dashboard started: a `sluice repair` or `sluice cancel` child process.
struct Action {
  int id = 0;
  std::string kind;  // repair | cancel
  std::string run_id;
  int pid = 0;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  int exit_code = -1;  // -1 while running
  std::string log;
};

class Actions : public std::enable_shared_from_this<Actions> {
 public:
  // Starts `binary args...` in its own session (a Ctrl-C of the server does not stop a repair),
  // output to `log`; a thread reaps it. The child gets the server's environment minus the token.
  Result<Action> Start(const std::string& kind, const std::string& run_id,
                       const std::string& binary, const std::vector<std::string>& args,
                       const fs::path& log) {
    std::error_code ec;
    fs::create_directories(log.parent_path(), ec);
    std::vector<std::string> argv_s = {binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return Status::IoError(std::string("fork for sluice ") + kind + " failed");
    if (pid == 0) {
      // The server blocks SIGINT/SIGTERM in its threads; the child must take them again (a
      // repair stops gracefully on them).
      sigset_t none;
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      setsid();
      unsetenv("SLUICE_SERVE_TOKEN");
      int in = open("/dev/null", O_RDONLY);
      int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (in >= 0) dup2(in, 0);
      if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
      }
      signal(SIGPIPE, SIG_DFL);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    Action a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      a.id = static_cast<int>(list_.size()) + 1;
      a.kind = kind;
      a.run_id = run_id;
      a.pid = pid;
      a.started_ms = views::NowMs();
      a.log = log.string();
      list_.push_back(a);
    }
    // The reaper keeps the list alive: a repair may outlive the server's Serve() call.
    std::thread([self = shared_from_this(), pid, id = a.id] {
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      std::lock_guard<std::mutex> lock(self->mu_);
      Action& done = self->list_[static_cast<size_t>(id - 1)];
      done.ended_ms = views::NowMs();
      done.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }).detach();
    return a;
  }

  nlohmann::json Json(const std::string& run_id) {
    std::lock_guard<std::mutex> lock(mu_);
    nlohmann::json out = nlohmann::json::array();
    for (const Action& a : list_) {
      if (!run_id.empty() && a.run_id != run_id) continue;
      out.push_back({{"id", a.id},
                     {"kind", a.kind},
                     {"run_id", a.run_id},
                     {"pid", a.pid},
                     {"started_ms", a.started_ms},
                     {"ended_ms", a.ended_ms},
                     {"running", a.ended_ms == 0},
                     {"exit_code", a.exit_code}});
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Action> list_;
};

nlohmann::json ActionJson(const Action& a) {
  return {{"id", a.id}, {"kind", a.kind}, {"run_id", a.run_id}, {"pid", a.pid}, {"running", true}};
}

// SIGINT/SIGTERM stop the server: blocked in every thread, taken by one thread with sigwait.
std::atomic<httplib::Server*> g_server{nullptr};

}  // namespace

Status Serve(Backend& backend, const ServeOptions& options,
             const std::function<void(int port)>& on_listening) {
  if (options.allow_actions && options.token.size() < 16) {
    return Status::InvalidArgument(
        "--allow-actions needs a token of 16 characters or more in SLUICE_SERVE_TOKEN (every "
        "POST must carry it); e.g. export SLUICE_SERVE_TOKEN=$(head -c 24 /dev/urandom | "
        "base64)");
  }
  httplib::Server svr;
  auto actions_ptr = std::make_shared<Actions>();
  Actions& actions = *actions_ptr;
  const config::Pipeline& pipeline = backend.pipeline();

  svr.set_payload_max_length(64 * 1024);
  svr.new_task_queue = [threads = options.threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, 500, "internal error: " + what);
      });

  svr.set_pre_routing_handler([&options](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Content-Security-Policy", kCsp);
    res.set_header("Cache-Control", "no-store");
    // DNS rebinding: a page of another site whose name now resolves to 127.0.0.1 sends its own
    // name as Host.
    if (IsLoopbackBind(options.bind)) {
      const std::string host = HostName(req.get_header_value("Host"));
      if (host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
        SendError(res, 403,
                  "Host \"" + host +
                      "\" refused: this dashboard answers to 127.0.0.1 "
                      "and localhost only");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (req.method == "GET" || req.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (!options.allow_actions) {
      SendError(res, 403,
                "actions are off: restart with `sluice serve DIR --allow-actions` and "
                "SLUICE_SERVE_TOKEN set to repair or cancel runs from the dashboard");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && origin != "http://" + req.get_header_value("Host")) {
      SendError(res, 403,
                "Origin \"" + origin +
                    "\" refused: actions are accepted only from "
                    "this dashboard's own pages");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (!site.empty() && site != "same-origin" && site != "none") {
      SendError(res, 403,
                "a " + site +
                    " request refused: actions are accepted only from "
                    "this dashboard's own pages");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!SameSecret(req.get_header_value("X-Sluice-Token"), options.token)) {
      SendError(res, 401,
                "missing or wrong token: send the value of SLUICE_SERVE_TOKEN (the "
                "one sluice serve was started with) in the X-Sluice-Token header");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  auto page = [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(FindAsset("index.html")), "text/html; charset=utf-8");
  };
  svr.Get("/", page);
  svr.Get("/index.html", page);
  svr.Get(R"(/assets/([A-Za-z0-9_.-]+))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    std::string_view content = FindAsset(name);
    if (content.empty() || name == "index.html") {
      SendError(res, 404, "no asset " + name);
      return;
    }
    res.set_content(std::string(content), ContentType(name));
  });

  svr.Get("/api/config", [&](const httplib::Request&, httplib::Response& res) {
    SendJson(res, {{"workflow", pipeline.workflow.name.empty() ? pipeline.settings.name
                                                               : pipeline.workflow.name},
                   {"pipeline", pipeline.dir.filename().string()},
                   {"allow_actions", options.allow_actions},
                   {"version", SLUICE_VERSION}});
  });
  svr.Get("/api/runs", [&](const httplib::Request& req, httplib::Response& res) {
    RunFilter filter;
    filter.state = req.get_param_value("state");
    filter.date_from = req.get_param_value("from");
    filter.date_to = req.get_param_value("to");
    filter.limit = IntParam(req, "limit", 200, 1, 100000);
    filter.counts = req.get_param_value("counts") == "1";
    SendResult(res, backend.Runs(filter));
  });
  svr.Get("/api/dag",
          [&](const httplib::Request&, httplib::Response& res) { SendJson(res, backend.Dag()); });
  svr.Get("/api/grid", [&](const httplib::Request& req, httplib::Response& res) {
    SendResult(res, backend.Grid(IntParam(req, "limit", 14, 1, 200)));
  });
  svr.Get("/api/partners", [&](const httplib::Request&, httplib::Response& res) {
    SendJson(res, backend.Partners());
  });
  svr.Get(R"(/api/partners/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    SendResult(res, backend.Partner(req.matches[1]));
  });
  svr.Get(R"(/api/runs/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    SendResult(res, backend.Run(req.matches[1]));
  });
  svr.Get(R"(/api/runs/([^/]+)/log)", [&](const httplib::Request& req, httplib::Response& res) {
    bool truncated = false;
    auto text =
        backend.Log(req.matches[1], req.get_param_value("task"), req.get_param_value("partner"),
                    IntParam(req, "attempt", 0, 0, 1000000), int64_t{4} << 20, &truncated);
    if (!text.ok()) {
      SendError(res, HttpStatusFor(text.status()), text.status().ToString());
      return;
    }
    if (truncated) res.set_header("X-Sluice-Truncated", "1");
    res.set_content(*text, "text/plain; charset=utf-8");
  });
  svr.Get(R"(/api/runs/([^/]+)/rejects)", [&](const httplib::Request& req, httplib::Response& res) {
    SendResult(res,
               backend.Rejects(req.matches[1], req.get_param_value("partner"),
                               req.get_param_value("table"), IntParam(req, "limit", 50, 1, 10000)));
  });
  svr.Get(R"(/api/runs/([^/]+)/rejects\.csv)",
          [&](const httplib::Request& req, httplib::Response& res) {
            auto text = backend.RejectsFile(req.matches[1], req.get_param_value("partner"),
                                            req.get_param_value("table"), int64_t{256} << 20);
            if (!text.ok()) {
              SendError(res, HttpStatusFor(text.status()), text.status().ToString());
              return;
            }
            // An attachment, never rendered: it is partners' data.
            res.set_header("Content-Disposition", "attachment; filename=\"rejects.csv\"");
            res.set_content(*text, "text/csv; charset=utf-8");
          });
  svr.Get(R"(/api/runs/([^/]+)/repair-plan)",
          [&](const httplib::Request& req, httplib::Response& res) {
            SendResult(res, backend.RepairPlan(req.matches[1]));
          });
  svr.Get("/api/actions", [&](const httplib::Request& req, httplib::Response& res) {
    SendJson(res, actions.Json(req.get_param_value("run")));
  });

  auto start_action = [&](const std::string& kind, const httplib::Request& req,
                          httplib::Response& res) {
    const std::string run_id = req.matches[1];
    if (!ValidRunId(run_id)) {
      SendError(res, 400, "\"" + run_id + "\" is not a run id");
      return;
    }
    auto run = backend.Run(run_id);
    if (!run.ok()) {
      SendError(res, HttpStatusFor(run.status()), run.status().ToString());
      return;
    }
    const fs::path log = workflow::LogsDir(pipeline) / run_id /
                         ("dashboard-" + kind + "-" + std::to_string(views::NowMs()) + ".log");
    auto action = actions.Start(kind, run_id, options.sluice_binary,
                                {kind, pipeline.dir.string(), run_id}, log);
    if (!action.ok()) {
      SendError(res, 500, action.status().ToString());
      return;
    }
    SendJson(res, ActionJson(*action), 202);
  };
  svr.Post(R"(/api/runs/([^/]+)/repair)", [&](const httplib::Request& req, httplib::Response& res) {
    start_action("repair", req, res);
  });
  svr.Post(R"(/api/runs/([^/]+)/cancel)", [&](const httplib::Request& req, httplib::Response& res) {
    start_action("cancel", req, res);
  });
  // Any other POST (after the checks above) is simply unknown.
  svr.Post(R"(/.*)", [](const httplib::Request& req, httplib::Response& res) {
    SendError(res, 404, "no action " + req.path);
  });

  const int port = options.port == 0
                       ? svr.bind_to_any_port(options.bind)
                       : (svr.bind_to_port(options.bind, options.port) ? options.port : -1);
  if (port < 0) {
    return Status::IoError("cannot listen on " + options.bind + ":" + std::to_string(options.port) +
                           " (in use, or not an address of this machine); choose another with "
                           "--port or --bind");
  }

  // Stop on SIGINT/SIGTERM: block them here (threads started later inherit the mask) and let
  // one thread wait for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &set, &old);
  g_server = &svr;
  std::thread stopper([set] {
    int sig = 0;
    sigwait(&set, &sig);
    if (httplib::Server* s = g_server.load()) s->stop();
  });
  on_listening(port);
  const bool ok = svr.listen_after_bind();
  g_server = nullptr;
  // Wake the stopper if the server ended for another reason.
  if (stopper.joinable()) {
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!ok) return Status::IoError("the server on " + options.bind + " stopped with an error");
  return Status::Ok();
}

}  // namespace sluice::serve
