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

#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/strings.h"

namespace sluice {

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
        return Status::InvalidArgument("\"" + Printable(written) +
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
        return Status::InvalidArgument("\"" + Printable(written) + "\": " + Display(b) +
                                       " is not supported by this version of sluice; use " +
                                       std::string(instead_));
      }
      if (b.check != nullptr) {
        Status st = b.check(out.url);
        if (!st.ok()) {
          return Status::InvalidArgument("\"" + Printable(written) + "\": " + st.message());
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
      return Status::InvalidArgument("\"" + Printable(written) +
                                     "\" has an unsupported scheme; use one of " + built);
    }
    return Status::InvalidArgument("unknown " + std::string(what_) + " \"" + Printable(written) +
                                   "\"; use one of " + built);
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
