// core/backend_registry.h: the one place an interface (store, warehouse, ledger, executor)
// turns a URL or a name from sluice.yaml into one of its back-ends.
//
// Each interface keeps ONE constant table of its back-ends in its own .cpp (the scheme that
// selects it, its factory, and a check of the URL's form that opens nothing). Its factory
// (OpenStore, OpenWarehouse, ...) and the `validate` check (tasks/load_pipeline.h) both call
// BackendRegistry::Resolve on that table, so a scheme is known, refused as not built, or
// malformed in exactly one way, with one message:
//   unknown     "ftp://x" has an unsupported scheme; use one of file://, s3://
//   not built   "s3://b": s3:// is not supported by this version of sluice; use file://PATH
//   malformed   the back-end's own check ("sqlite:// needs a folder, as in sqlite://./warehouse")
// Adding a back-end is one line in the table. A back-end designed but not built into this
// binary is a row with a null factory, so the refusal names what to use instead.
//
// URLs may hold ${NAME} (environment variables, DESIGN.md): Resolve expands them before the
// scheme is looked up; messages quote the URL as written, never the expansion (it may hold a
// password). Names (executors) are matched whole and not expanded.
// Thread-safety: tables are constant; every function is pure apart from reading the
// environment.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/strings.h"

namespace sluice {

// `url` with the password of its user info ("scheme://user:PASSWORD@host") and of a
// "password=" parameter replaced by "***", for messages that quote a URL as written.
inline std::string MaskUrlPassword(std::string_view url) {
  std::string out(url);
  if (size_t scheme = out.find("://"); scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t end = std::min(out.find_first_of("/?#", start), out.size());
    const size_t at = out.rfind('@', end == out.size() ? std::string::npos : end);
    if (at != std::string::npos && at >= start) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    const size_t value = p + 9;
    const size_t end = std::min(out.find('&', value), out.size());
    out.replace(value, end - value, "***");
  }
  return out;
}

template <typename Factory>
struct Backend {
  // URL registries: the scheme without "://" ("file", "s3", "postgresql"). Name registries:
  // the whole name ("local", "slurm").
  std::string_view scheme;
  // nullptr: designed but not built into this version of sluice.
  Factory open = nullptr;
  // Checks the (expanded) URL's form without opening anything; nullptr when the scheme is all
  // there is to check. The message must not repeat the whole URL (it may hold a secret).
  Status (*check)(std::string_view url) = nullptr;
};

template <typename Factory>
struct ResolvedBackend {
  const Backend<Factory>* backend = nullptr;
  std::string url;  // with ${NAME} expanded
};

template <typename Factory>
class BackendRegistry {
 public:
  // `what`: "store", "warehouse", "ledger", "executor". `urls`: schemes are URL prefixes
  // ("scheme://..."), otherwise whole names. `instead`: what to use when a designed back-end
  // is not built ("file://PATH (a local or mounted folder)").
  constexpr BackendRegistry(std::string_view what, bool urls, std::string_view instead,
                            std::span<const Backend<Factory>> backends)
      : what_(what), urls_(urls), instead_(instead), backends_(backends) {}

  // The back-end `written` selects, with its URL expanded and checked. InvalidArgument for an
  // unknown, not-built or malformed value; the message starts with the value as written.
  Result<ResolvedBackend<Factory>> Resolve(std::string_view written) const {
    ResolvedBackend<Factory> out;
    if (urls_) {
      auto expanded = ExpandEnv(written);
      if (!expanded.ok()) {
        return Status::InvalidArgument("\"" + Printable(MaskUrlPassword(written)) +
                                       "\": " + expanded.status().message() +
                                       "; set it in the environment of every sluice command");
      }
      out.url = std::move(expanded).value();
    } else {
      out.url = std::string(written);
    }
    for (const Backend<Factory>& b : backends_) {
      if (!Selects(b, out.url)) continue;
      if (b.open == nullptr) {
        return Status::InvalidArgument(
            "\"" + Printable(MaskUrlPassword(written)) + "\": " + Display(b) +
            " is not supported by this version of sluice; use " + std::string(instead_));
      }
      if (b.check != nullptr) {
        Status st = b.check(out.url);
        if (!st.ok()) {
          return Status::InvalidArgument("\"" + Printable(MaskUrlPassword(written)) +
                                         "\": " + st.message());
        }
      }
      out.backend = &b;
      return out;
    }
    std::string built;
    for (const Backend<Factory>& b : backends_) {
      if (b.open == nullptr) continue;
      built += (built.empty() ? "" : ", ") + Display(b);
    }
    if (urls_) {
      return Status::InvalidArgument("\"" + Printable(MaskUrlPassword(written)) +
                                     "\" has an unsupported scheme; use one of " + built);
    }
    return Status::InvalidArgument("unknown " + std::string(what_) + " \"" +
                                   Printable(MaskUrlPassword(written)) + "\"; use one of " + built);
  }

  std::string_view what() const { return what_; }
  std::span<const Backend<Factory>> backends() const { return backends_; }

 private:
  bool Selects(const Backend<Factory>& b, std::string_view value) const {
    if (!urls_) return value == b.scheme;
    return value.size() >= b.scheme.size() + 3 && value.substr(0, b.scheme.size()) == b.scheme &&
           value.substr(b.scheme.size(), 3) == "://";
  }
  std::string Display(const Backend<Factory>& b) const {
    return urls_ ? std::string(b.scheme) + "://" : std::string(b.scheme);
  }

  std::string_view what_;
  bool urls_;
  std::string_view instead_;
  std::span<const Backend<Factory>> backends_;
};

}  // namespace sluice
