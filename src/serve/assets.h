// serve/assets.h: the dashboard's page, stylesheet and scripts (src/serve/assets/), embedded in
// the binary at build time by embed_assets.cmake, so the dashboard works offline with nothing to
// install. Thread-safety: read-only data.
#pragma once

#include <string_view>
#include <vector>

namespace sluice::serve {

struct Asset {
  std::string_view name;  // "app.js"
  std::string_view content;
};

// Every embedded asset, sorted by name.
const std::vector<Asset>& Assets();
// The content of `name`, or an empty view when there is no such asset.
std::string_view FindAsset(std::string_view name);
// "text/javascript; charset=utf-8" etc. by extension.
const char* ContentType(std::string_view name);

}  // namespace sluice::serve
