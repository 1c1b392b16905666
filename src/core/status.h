// core/status.h: Status and Result<T>, the error currency of every sluice library.
//
// Library functions that can fail for reasons outside the program return [[nodiscard]] Status
// or Result<T>. Codes form a small closed set so callers (the retry policy above all) branch on
// the code, never on message text. The one retry policy is IsRetryable(StatusCode) below: the
// scheduler (a task's failure is retried or not), alert delivery and every back-end use it.
// A Status carries a message and optional context (file:line, partner, table, task) that is
// rendered as "file:line: message (partner p, table t, task k)".
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kIoError,
  kCorrupt,
  kTimeout,
  kCancelled,
  kUnavailable,
  kPermissionDenied,
  kInternal,
};

// Returns the stable lower_snake name of a code ("invalid_argument").
std::string_view StatusCodeName(StatusCode code);

// The retry policy: whether running the same operation again may succeed.
//   retried:     Timeout, Unavailable (a service or peer that may come back), IoError (a full
//                disk, a dropped connection, a busy lock: conditions that change by themselves),
//                NotFound (a file or object not there yet: a late delivery, an eventually
//                consistent store).
//   not retried: InvalidArgument, Corrupt, PermissionDenied, AlreadyExists (the same input or
//                configuration fails the same way until someone fixes it), Cancelled (someone
//                asked it to stop), Internal (a bug in sluice: the same input meets the same bug;
//                the CLI exits 3 and says so).
constexpr bool IsRetryable(StatusCode code) {
  switch (code) {
    case StatusCode::kTimeout:
    case StatusCode::kUnavailable:
    case StatusCode::kIoError:
    case StatusCode::kNotFound:
      return true;
    case StatusCode::kOk:
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
    case StatusCode::kCorrupt:
    case StatusCode::kCancelled:
    case StatusCode::kPermissionDenied:
    case StatusCode::kInternal:
      return false;
  }
  return false;
}

// Where an error happened. Every field is optional; empty fields are not printed.
struct ErrorContext {
  std::string file;
  int line = 0;
  int column = 0;
  std::string partner;
  std::string table;
  std::string task;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status Corrupt(std::string msg) { return {StatusCode::kCorrupt, std::move(msg)}; }
  static Status Timeout(std::string msg) { return {StatusCode::kTimeout, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  // An IoError whose message ends with strerror(errnum).
  static Status FromErrno(int errnum, std::string_view what);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const ErrorContext& context() const { return context_; }
  // True for codes a retry may cure: IsRetryable(code()).
  bool IsRetryable() const { return sluice::IsRetryable(code_); }

  // Context setters return *this so they chain: st.WithFile(f, 12).WithPartner("acme").
  // A field already set is kept: the innermost (most precise) context wins.
  Status& WithFile(std::string file, int line = 0, int column = 0) &;
  Status&& WithFile(std::string file, int line = 0, int column = 0) &&;
  Status& WithPartner(std::string partner) &;
  Status&& WithPartner(std::string partner) &&;
  Status& WithTable(std::string table) &;
  Status&& WithTable(std::string table) &&;
  Status& WithTask(std::string task) &;
  Status&& WithTask(std::string task) &&;
  // Prepends "prefix: " to the message.
  Status& Prefix(std::string_view prefix) &;
  Status&& Prefix(std::string_view prefix) &&;

  // "file:line:col: message (partner p, table t, task k)"; "ok" when ok.
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  ErrorContext context_;
};

// Result<T> holds either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Status::Internal("Result constructed from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& msg);

}  // namespace sluice

#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define SLUICE_RETURN_IF_ERROR(expr)         \
  do {                                       \
    ::sluice::Status _sluice_st = (expr);    \
    if (!_sluice_st.ok()) return _sluice_st; \
  } while (0)

// `lhs = value of rexpr`, or return its Status. lhs may declare: SLUICE_ASSIGN_OR_RETURN(auto x,
// F())
#define SLUICE_ASSIGN_OR_RETURN(lhs, rexpr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_sluice_res_, __LINE__), lhs, rexpr)
#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

// Aborts with file:line when an invariant is broken. Not for input errors.
#define SLUICE_CHECK(cond)                                             \
  do {                                                                 \
    if (!(cond)) ::sluice::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define SLUICE_CHECK_MSG(cond, msg)                                       \
  do {                                                                    \
    if (!(cond)) ::sluice::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
