#include "workflow/attempt_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sluice::workflow {

AttemptPaths PathsFor(const std::filesystem::path& logs_dir, const std::string& run_id,
                      const std::string& task, const std::string& partner, int attempt) {
  AttemptPaths p;
  p.dir = logs_dir / run_id / (partner.empty() ? task : task + "." + partner);
  std::string n = std::to_string(attempt);
  p.log = p.dir / (n + ".log");
  p.outcome = p.dir / (n + ".outcome.json");
  p.progress = p.dir / (n + ".progress.json");
  // The log is the lock: the attempt's processes hold it open as stdout/stderr, and one file
  // less per attempt matters for small tasks.
  p.lock = p.log;
  return p;
}

Status WriteFileAtomically(const std::filesystem::path& path, const std::string& content,
                           bool durable) {
  std::string tmp = path.string() + ".tmp" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "cannot create " + tmp);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return Status::FromErrno(e, "cannot write " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (durable && fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp.c_str());
    return Status::FromErrno(e, "cannot fsync " + tmp);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return Status::FromErrno(e, "cannot rename " + tmp + " to " + path.string());
  }
  return Status::Ok();
}

namespace {
std::optional<nlohmann::json> ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  auto j = nlohmann::json::parse(s.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}
}  // namespace

Status WriteOutcome(const std::filesystem::path& path, const Outcome& outcome) {
  nlohmann::json j;
  j["exit_code"] = outcome.exit_code;
  j["signal"] = outcome.signal;
  j["error"] = outcome.error;
  j["permanent"] = outcome.permanent;
  auto result = nlohmann::json::parse(outcome.result, nullptr, false);
  j["result"] = result.is_discarded() ? nlohmann::json::object() : result;
  // Atomic (rename) but not fsynced: it must survive the scheduler's death, which the page
  // cache guarantees; after an OS crash the attempt is simply run again (tasks are idempotent).
  return WriteFileAtomically(path, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                             /*durable=*/false);
}

std::optional<Outcome> ReadOutcome(const std::filesystem::path& path) {
  auto j = ReadJson(path);
  if (!j) return std::nullopt;
  Outcome o;
  o.exit_code = j->value("exit_code", -1);
  o.signal = j->value("signal", 0);
  o.error = j->value("error", std::string());
  o.permanent = j->value("permanent", false);
  if (j->contains("result")) o.result = (*j)["result"].dump();
  return o;
}

Status WriteProgress(const std::filesystem::path& path, const ProgressSnapshot& p) {
  nlohmann::json j = {{"bytes_done", p.bytes_done},
                      {"bytes_total", p.bytes_total},
                      {"rows_done", p.rows_done},
                      {"note", p.note}};
  return WriteFileAtomically(path, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                             /*durable=*/false);
}

std::optional<ProgressSnapshot> ReadProgress(const std::filesystem::path& path) {
  auto j = ReadJson(path);
  if (!j) return std::nullopt;
  ProgressSnapshot p;
  p.bytes_done = j->value("bytes_done", int64_t{0});
  p.bytes_total = j->value("bytes_total", int64_t{0});
  p.rows_done = j->value("rows_done", int64_t{0});
  p.note = j->value("note", std::string());
  return p;
}

}  // namespace sluice::workflow
