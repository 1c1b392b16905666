// XML, times and digests of the S3 wire format. See s3_wire.h.
#include "store/s3_wire.h"

#include <expat.h>
#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <utility>

namespace sluice::store::s3 {

namespace {

// Calls `on_end(path, text)` for every element of `xml` as it closes; path is "/A/B/C".
struct XmlWalk {
  std::function<void(const std::string&, const std::string&)> on_end;
  std::string path;
  std::string text;
};
void XMLCALL WalkStart(void* user, const XML_Char* name, const XML_Char**) {
  auto* w = static_cast<XmlWalk*>(user);
  w->path += "/";
  w->path += name;
  w->text.clear();
}
void XMLCALL WalkEnd(void* user, const XML_Char*) {
  auto* w = static_cast<XmlWalk*>(user);
  w->on_end(w->path, w->text);
  w->text.clear();
  w->path.erase(w->path.rfind('/'));
}
void XMLCALL WalkText(void* user, const XML_Char* s, int len) {
  static_cast<XmlWalk*>(user)->text.append(s, static_cast<size_t>(len));
}
std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

}  // namespace

Status ParseXml(std::string_view xml, const std::string& what,
                std::function<void(const std::string&, const std::string&)> on_end) {
  XmlWalk w{std::move(on_end), "", ""};
  XML_Parser parser = XML_ParserCreate("UTF-8");
  XML_SetUserData(parser, &w);
  XML_SetElementHandler(parser, WalkStart, WalkEnd);
  XML_SetCharacterDataHandler(parser, WalkText);
  const bool ok = XML_Parse(parser, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_OK;
  std::string err = ok ? "" : XML_ErrorString(XML_GetErrorCode(parser));
  XML_ParserFree(parser);
  if (!ok)
    return Status::Corrupt("s3: " + what + ": the endpoint sent malformed XML (" + err + ")");
  return Status::Ok();
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// "2026-12-06T16:21:11.000Z" -> ms since the epoch; 0 when unparsable.
int64_t ParseIsoTime(const std::string& s) {
  struct tm tm = {};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return int64_t{timegm(&tm)} * 1000 + ms;
}

std::string ContentMd5(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  return Base64(md, len);
}

}  // namespace sluice::store::s3
