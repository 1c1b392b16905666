// serve/report.h: `sluice report`: one run's dashboard page as a single self-contained HTML file
// (stylesheet, script and the run's data inline; no request leaves the file), to attach to a
// ticket or an alert. Thread-safety: as Backend.
#pragma once

#include <string>

#include "core/status.h"
#include "serve/backend.h"

namespace sluice::serve {

// The page of run `run_id`, with the logs of every attempt that did not succeed (their last
// 64 KiB) and the first rejected rows of each partner's tables. NotFound for an unknown run.
Result<std::string> RenderReport(Backend& backend, const std::string& run_id);

// `json` serialised for a <script type="application/json"> element: '<', '>' and '&' written as
// \u escapes so no value can close the element.
std::string JsonForScript(const nlohmann::json& json);

}  // namespace sluice::serve
