// store/s3_wire.h: the S3 wire format's small pieces (XML bodies, ISO 8601 times, Content-MD5),
// internal to the S3 store. expat and OpenSSL stay inside s3_wire.cpp.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::store::s3 {

// Calls `on_end(path, text)` for every element of `xml` as it closes; path is "/A/B/C".
// Corrupt naming `what` when the XML is malformed.
Status ParseXml(std::string_view xml, const std::string& what,
                std::function<void(const std::string&, const std::string&)> on_end);
// `s` with &, <, > and " escaped for XML text.
std::string XmlEscape(std::string_view s);
// "2026-12-06T16:21:11.000Z" -> milliseconds since the epoch; 0 when unparsable.
int64_t ParseIsoTime(const std::string& s);
// base64(MD5(body)), the Content-MD5 header DeleteObjects requires.
std::string ContentMd5(std::string_view body);

}  // namespace sluice::store::s3
