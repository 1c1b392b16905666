#include "core/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sluice {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kIoError:
      return "io_error";
    case StatusCode::kCorrupt:
      return "corrupt";
    case StatusCode::kTimeout:
      return "timeout";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kInternal:
      return "internal";
  }
  return "unknown";
}

Status Status::FromErrno(int errnum, std::string_view what) {
  return Status::IoError(std::string(what) + ": " + std::strerror(errnum));
}

namespace {
void SetIfEmpty(std::string& field, std::string value) {
  if (field.empty()) field = std::move(value);
}
}  // namespace

Status& Status::WithFile(std::string file, int line, int column) & {
  if (context_.file.empty()) {
    context_.file = std::move(file);
    context_.line = line;
    context_.column = column;
  }
  return *this;
}
Status&& Status::WithFile(std::string file, int line, int column) && {
  return std::move(WithFile(std::move(file), line, column));
}
Status& Status::WithPartner(std::string partner) & {
  SetIfEmpty(context_.partner, std::move(partner));
  return *this;
}
Status&& Status::WithPartner(std::string partner) && {
  return std::move(WithPartner(std::move(partner)));
}
Status& Status::WithTable(std::string table) & {
  SetIfEmpty(context_.table, std::move(table));
  return *this;
}
Status&& Status::WithTable(std::string table) && { return std::move(WithTable(std::move(table))); }
Status& Status::WithTask(std::string task) & {
  SetIfEmpty(context_.task, std::move(task));
  return *this;
}
Status&& Status::WithTask(std::string task) && { return std::move(WithTask(std::move(task))); }
Status& Status::Prefix(std::string_view prefix) & {
  message_ = std::string(prefix) + ": " + message_;
  return *this;
}
Status&& Status::Prefix(std::string_view prefix) && { return std::move(Prefix(prefix)); }

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out;
  if (!context_.file.empty()) {
    out += context_.file;
    if (context_.line > 0) {
      out += ":" + std::to_string(context_.line);
      if (context_.column > 0) out += ":" + std::to_string(context_.column);
    }
    out += ": ";
  }
  out += message_;
  std::string where;
  auto add = [&where](const char* label, const std::string& v) {
    if (v.empty()) return;
    if (!where.empty()) where += ", ";
    where += label;
    where += v;
  };
  add("partner ", context_.partner);
  add("table ", context_.table);
  add("task ", context_.task);
  if (!where.empty()) out += " (" + where + ")";
  return out;
}

void CheckFailed(const char* file, int line, const char* expr, const std::string& msg) {
  std::fprintf(stderr, "%s:%d: check failed: %s %s\n", file, line, expr, msg.c_str());
  std::abort();
}

}  // namespace sluice
