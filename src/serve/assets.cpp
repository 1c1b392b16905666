#include "serve/assets.h"

#include <algorithm>

namespace sluice::serve {

std::string_view FindAsset(std::string_view name) {
  for (const Asset& a : Assets()) {
    if (a.name == name) return a.content;
  }
  return {};
}

const char* ContentType(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace sluice::serve
