#include "example/sample_data.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <iconv.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "config/encodings.h"
#include "config/node.h"
#include "config/reader.h"
#include "core/strings.h"
#include "example/sample_values.h"

namespace sluice::example {

namespace fs = std::filesystem;
using config::ColumnSchema;
using config::ColumnType;
using config::PartnerConfig;
using config::TableSchema;
using sample::ColumnGen;
using sample::DayNumber;
using sample::Fnv1a;
using sample::Kind;
using sample::Korean;
using sample::Latin;
using sample::Rng;
using sample::RowContext;
using sample::Vocabulary;

namespace {

// ---- encodings --------------------------------------------------------------------------------

// The iconv name for a partner encoding, or "" when the text stays UTF-8. Characters the
// encoding lacks (Korean names in windows-1252) are transliterated rather than refused.
std::string IconvName(const std::string& encoding) {
  auto enc = config::FindEncoding(encoding);
  if (!enc || enc->name == "utf-8") return "";
  if (enc->name == "utf-16" || enc->name == "utf-16le") return "UTF-16LE";
  if (enc->name == "utf-16be") return "UTF-16BE";
  // Strict EUC-KR, so the files are what an EUC-KR encoder writes (a subset of cp949).
  if (enc->name == "euc-kr") return "EUC-KR";
  return std::string(enc->iconv) + "//TRANSLIT";
}

// Converts UTF-8 text into the partner's encoding, chunk by chunk (chunks end at row ends).
// UTF-16 files start with their byte order mark when the label is plain utf-16 (the reader
// takes the order from it) or when the profile asks for one.
class Encoder {
 public:
  static Result<std::unique_ptr<Encoder>> Open(const std::string& encoding, bool bom) {
    auto e = std::unique_ptr<Encoder>(new Encoder());
    e->target_ = IconvName(encoding);
    if (!e->target_.empty()) {
      e->cd_ = iconv_open(e->target_.c_str(), "UTF-8");
      if (e->cd_ == reinterpret_cast<iconv_t>(-1)) {
        return Status::InvalidArgument("this system's iconv cannot convert UTF-8 to " + e->target_ +
                                       " (encoding \"" + encoding + "\")");
      }
    }
    auto enc = config::FindEncoding(encoding);
    if (enc && enc->name.starts_with("utf-16") && (bom || enc->name == "utf-16")) {
      e->pending_bom_ = enc->name == "utf-16be" ? "\xFE\xFF" : "\xFF\xFE";
    }
    return e;
  }
  ~Encoder() {
    if (cd_ != reinterpret_cast<iconv_t>(-1)) iconv_close(cd_);
  }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Appends `utf8` converted to the target encoding to *out.
  Status Convert(const std::string& utf8, std::string* out) {
    out->append(pending_bom_);
    pending_bom_.clear();
    if (target_.empty()) {
      out->append(utf8);
      return Status::Ok();
    }
    size_t start = out->size();
    out->resize(start + utf8.size() * 2 + 16);
    char* in = const_cast<char*>(utf8.data());
    size_t in_left = utf8.size();
    char* dst = out->data() + start;
    size_t dst_left = out->size() - start;
    if (iconv(cd_, &in, &in_left, &dst, &dst_left) == static_cast<size_t>(-1)) {
      return Status::InvalidArgument(
          "cannot encode \"" + Printable(std::string_view(in, std::min<size_t>(in_left, 20))) +
          "\" in " + target_ + ": " + std::strerror(errno));
    }
    out->resize(out->size() - dst_left);
    return Status::Ok();
  }

 private:
  Encoder() = default;
  std::string target_;
  std::string pending_bom_;  // written before the first text
  iconv_t cd_ = reinterpret_cast<iconv_t>(-1);
};

// ---- CSV writing ------------------------------------------------------------------------------

// `quote` '\0': the partner does not quote (its values hold no delimiter or line break).
void AppendField(std::string* line, std::string_view value, char delimiter, char quote) {
  bool needs_quotes = false;
  if (quote == '\0') {
    line->append(value);
    return;
  }
  for (char c : value) {
    if (c == delimiter || c == quote || c == '\n' || c == '\r') {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) {
    line->append(value);
    return;
  }
  line->push_back(quote);
  for (char c : value) {
    if (c == quote) line->push_back(quote);
    line->push_back(c);
  }
  line->push_back(quote);
}

// A member name that matches the table's glob: "orders*.csv" -> "orders_20261124.csv".
Result<std::string> MemberName(const std::string& glob, const Date& date) {
  std::string stamp = date.Format("%Y%m%d").value_or("00000000");
  std::string out;
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*') {
      if (!out.empty() && std::isalnum(static_cast<unsigned char>(out.back()))) out += '_';
      out += stamp;
    } else if (c == '?') {
      out += 'x';
    } else if (c == '[') {
      size_t end = glob.find(']', i + 1);
      if (end == std::string::npos || end == i + 1) break;
      char first = glob[i + 1] == '!' || glob[i + 1] == '^' ? 'x' : glob[i + 1];
      out += first;
      i = end;
    } else if (c == '\\' && i + 1 < glob.size()) {
      out += glob[++i];
    } else {
      out += c;
    }
  }
  if (out.empty() || fnmatch(glob.c_str(), out.c_str(), 0) != 0) {
    return Status::InvalidArgument("cannot make a file name that matches the pattern \"" + glob +
                                   "\"; use a simpler glob such as \"orders*.csv\"");
  }
  return out;
}

// Closes a FILE* on scope exit.
struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

struct TableJob {
  const TableSchema* schema = nullptr;
  std::string table;
  std::string member;
  fs::path temp_csv;
};

// Writes one table's CSV for one partner to job.temp_csv. Returns what it wrote.
Result<GeneratedTable> WriteTableCsv(const PartnerConfig& partner, const DeliveryProfile& profile,
                                     const TableJob& job, const SampleDataOptions& options) {
  const TableSchema& schema = *job.schema;
  const std::string where = "partner " + partner.id + ", table " + job.table;
  std::vector<ColumnGen> columns;
  for (const ColumnSchema& c : schema.columns) {
    if (std::find(profile.omit_columns.begin(), profile.omit_columns.end(), c.name) !=
        profile.omit_columns.end()) {
      continue;
    }
    bool is_key = std::find(schema.primary_key.begin(), schema.primary_key.end(), c.name) !=
                  schema.primary_key.end();
    columns.push_back(sample::MakeColumnGen(c, schema, is_key, profile.alias_headers));
  }
  for (const std::string& extra : profile.extra_columns) {
    ColumnGen g;
    g.header = extra;
    g.kind = Kind::kExtra;
    columns.push_back(g);
  }
  if (columns.empty()) return Status::InvalidArgument("no columns left to write (" + where + ")");
  // Column order is the partner's habit: stable from day to day, so seeded without the date.
  Rng order_rng(Fnv1a(job.table, Fnv1a(partner.id, options.seed)));
  if (profile.column_order == DeliveryProfile::Order::kReversed) {
    std::reverse(columns.begin(), columns.end());
  } else if (profile.column_order == DeliveryProfile::Order::kShuffled) {
    for (size_t i = columns.size(); i > 1; --i) {
      std::swap(columns[i - 1], columns[order_rng.Below(i)]);
    }
  }

  const char delimiter = partner.csv.delimiter;
  const char quote = partner.csv.quoting ? partner.csv.quote : '\0';
  const std::string eol = profile.crlf ? "\r\n" : "\n";
  const std::string null_text =
      partner.csv.null_values.empty() ? std::string() : partner.csv.null_values.back();
  const Vocabulary& vocab = profile.korean_text ? Korean() : Latin();

  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Encoder> encoder,
                          Encoder::Open(partner.csv.encoding, profile.bom));
  FilePtr file(std::fopen(job.temp_csv.c_str(), "wb"));
  if (!file) return Status::FromErrno(errno, "cannot create " + job.temp_csv.string());

  GeneratedTable out;
  out.table = job.table;
  out.member = job.member;

  // Bad rows: evenly spaced, at most half of what the table's max_reject_ratio allows.
  int64_t max_bad =
      static_cast<int64_t>(static_cast<double>(options.rows) * schema.max_reject_ratio / 2.0);
  int64_t bad = std::min<int64_t>(profile.bad_rows, max_bad);
  std::vector<int64_t> bad_at;
  for (int64_t k = 1; k <= bad; ++k) bad_at.push_back(k * options.rows / (bad + 1));

  // Keys overlap half with the previous day's delivery, so merges both insert and update.
  const int64_t day = DayNumber(options.date);
  const int64_t key_base = (day % 100000) * std::max<int64_t>(1, options.rows / 2);
  Rng rng(Fnv1a(job.table, Fnv1a(partner.id, options.seed ^ (static_cast<uint64_t>(day) << 20))));
  RowContext ctx{&rng, &vocab, &options.date, 0, key_base + options.rows};

  std::string utf8;
  std::string encoded;
  std::string line;
  auto flush = [&]() -> Status {
    encoded.clear();
    SLUICE_RETURN_IF_ERROR(
        encoder->Convert(utf8, &encoded).WithPartner(partner.id).WithTable(job.table));
    if (!encoded.empty() &&
        std::fwrite(encoded.data(), 1, encoded.size(), file.get()) != encoded.size()) {
      return Status::FromErrno(errno, "cannot write " + job.temp_csv.string());
    }
    out.csv_bytes += static_cast<int64_t>(encoded.size());
    utf8.clear();
    return Status::Ok();
  };

  if (profile.bom && IconvName(partner.csv.encoding).empty()) utf8 += "\xEF\xBB\xBF";
  for (int i = 0; i < partner.csv.skip_lines; ++i) {
    utf8 += i == 0 ? "Export " + partner.id + " " + job.table + " " + options.date.ToString()
                   : "generated by sluice init";
    utf8 += eol;
  }
  if (partner.csv.header) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) line += delimiter;
      AppendField(&line, columns[i].header, delimiter, quote);
    }
    utf8 += line;
    utf8 += eol;
  }
  size_t next_bad = 0;
  int bad_kind = 0;
  for (int64_t row = 0; row < options.rows; ++row) {
    ctx.key = key_base + row + 1;
    line.clear();
    bool is_bad = next_bad < bad_at.size() && bad_at[next_bad] == row;
    // A bad row damages one value the way partners do; the kinds rotate.
    std::optional<size_t> damaged;
    std::string damage;
    bool short_row = false;
    if (is_bad) {
      ++next_bad;
      for (int attempt = 0; attempt < 4 && !damaged && !short_row; ++attempt, ++bad_kind) {
        int kind = bad_kind % 4;
        for (size_t i = 0; i < columns.size() && !damaged && !short_row; ++i) {
          Kind k = columns[i].kind;
          if (kind == 0 && (k == Kind::kDecimal || k == Kind::kInt || k == Kind::kFloat)) {
            damaged = i;
            damage = "12.3.4";
          } else if (kind == 1 && (k == Kind::kKeyInt || k == Kind::kKeyString)) {
            damaged = i;
            damage = "";
          } else if (kind == 2 && (k == Kind::kDate || k == Kind::kTimestamp)) {
            damaged = i;
            damage = "not a date";
          } else if (kind == 3 && columns.size() > 1) {
            short_row = true;
          }
        }
      }
      if (damaged || short_row) ++out.bad_rows;
    }
    size_t n = short_row ? columns.size() - 1 : columns.size();
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) line += delimiter;
      const ColumnGen& g = columns[i];
      // Draw the value even when it is replaced, so one bad row does not shift the others.
      std::string value = sample::GenerateValue(g, ctx);
      if (g.nullable && g.null_percent > 0 && rng.Percent(g.null_percent)) value = null_text;
      if (damaged && *damaged == i) value = damage;
      AppendField(&line, value, delimiter, quote);
    }
    utf8 += line;
    utf8 += eol;
    ++out.rows;
    if (utf8.size() >= (1u << 20)) SLUICE_RETURN_IF_ERROR(flush());
  }
  SLUICE_RETURN_IF_ERROR(flush());
  if (std::fflush(file.get()) != 0) {
    return Status::FromErrno(errno, "cannot write " + job.temp_csv.string());
  }
  return out;
}

// ---- archives ---------------------------------------------------------------------------------

enum class ArchiveKind { kTarGz, kTarZst, kTar, kZip };

Result<ArchiveKind> KindOf(const std::string& name) {
  std::string n = ToLower(name);
  if (n.ends_with(".tar.gz") || n.ends_with(".tgz")) return ArchiveKind::kTarGz;
  if (n.ends_with(".tar.zst") || n.ends_with(".tzst")) return ArchiveKind::kTarZst;
  if (n.ends_with(".tar")) return ArchiveKind::kTar;
  if (n.ends_with(".zip")) return ArchiveKind::kZip;
  return Status::InvalidArgument("cannot tell the archive format of \"" + name +
                                 "\"; name it .tar.gz, .tgz, .tar.zst, .tar or .zip");
}

struct ArchiveWriter {
  archive* a = archive_write_new();
  ~ArchiveWriter() { archive_write_free(a); }
};

Status ArchiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Status::IoError(what + ": " + (msg ? msg : "libarchive error"));
}

// Writes `members` (name -> file holding its bytes) into the archive at `path`.
Status WriteArchive(const fs::path& path, ArchiveKind kind, const std::vector<TableJob>& jobs,
                    const Date& date) {
  ArchiveWriter w;
  int r = ARCHIVE_OK;
  switch (kind) {
    case ArchiveKind::kZip:
      r = archive_write_set_format_zip(w.a);
      break;
    case ArchiveKind::kTarGz:
      r = archive_write_set_format_pax_restricted(w.a);
      if (r == ARCHIVE_OK) r = archive_write_add_filter_gzip(w.a);
      // No time in the gzip header: the same inputs give the same bytes.
      if (r == ARCHIVE_OK) r = archive_write_set_filter_option(w.a, "gzip", "timestamp", nullptr);
      break;
    case ArchiveKind::kTarZst:
      r = archive_write_set_format_pax_restricted(w.a);
      if (r == ARCHIVE_OK) r = archive_write_add_filter_zstd(w.a);
      break;
    case ArchiveKind::kTar:
      r = archive_write_set_format_pax_restricted(w.a);
      break;
  }
  if (r != ARCHIVE_OK) return ArchiveError(w.a, "cannot set up " + path.string());
  if (archive_write_open_filename(w.a, path.c_str()) != ARCHIVE_OK) {
    return ArchiveError(w.a, "cannot create " + path.string());
  }
  // Members carry the delivery date at noon UTC as their time, never the wall clock.
  const time_t mtime = static_cast<time_t>(DayNumber(date) * 86400 + 12 * 3600);
  std::vector<char> buf(1 << 16);
  for (const TableJob& job : jobs) {
    std::error_code ec;
    auto size = fs::file_size(job.temp_csv, ec);
    if (ec) return Status::IoError("cannot stat " + job.temp_csv.string() + ": " + ec.message());
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                   archive_entry_free);
    archive_entry_set_pathname(entry.get(), job.member.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_mtime(entry.get(), mtime, 0);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    if (archive_write_header(w.a, entry.get()) != ARCHIVE_OK) {
      return ArchiveError(w.a, "cannot add " + job.member + " to " + path.string());
    }
    FilePtr in(std::fopen(job.temp_csv.c_str(), "rb"));
    if (!in) return Status::FromErrno(errno, "cannot read " + job.temp_csv.string());
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0) {
      if (archive_write_data(w.a, buf.data(), n) < 0) {
        return ArchiveError(w.a, "cannot write " + job.member + " into " + path.string());
      }
    }
    if (std::ferror(in.get()))
      return Status::FromErrno(errno, "cannot read " + job.temp_csv.string());
  }
  if (archive_write_close(w.a) != ARCHIVE_OK) {
    return ArchiveError(w.a, "cannot finish " + path.string());
  }
  return Status::Ok();
}

// fsync(path), so a rename that follows cannot expose an empty file after a crash.
Status SyncFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "cannot open " + path.string());
  int r = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (r != 0) return Status::FromErrno(err, "cannot fsync " + path.string());
  return Status::Ok();
}

Status WriteEmptyFile(const fs::path& path) {
  FilePtr f(std::fopen(path.c_str(), "wb"));
  if (!f) return Status::FromErrno(errno, "cannot create " + path.string());
  return Status::Ok();
}

Result<GeneratedArchive> GeneratePartner(const PartnerConfig& partner, const fs::path& landing,
                                         const SampleDataOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(DeliveryProfile profile, LoadDeliveryProfile(partner));
  SLUICE_ASSIGN_OR_RETURN(std::string archive_name, partner.ArchiveName(options.date));
  // A glob `archive` (a time of export, "x_*.zip") gets a name it matches: `*` as "000000".
  std::optional<std::string> matching = NameMatchingGlob(archive_name, "000000", '0');
  if (!matching) {
    return Status::InvalidArgument("partner " + partner.id + ": archive pattern \"" + archive_name +
                                   "\" has a negated [!...] set; sample data cannot name a file "
                                   "for it");
  }
  archive_name = *matching;
  SLUICE_ASSIGN_OR_RETURN(ArchiveKind kind, KindOf(archive_name));
  fs::path dir = landing / partner.id / options.date.ToString();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());

  GeneratedArchive out;
  out.partner = partner.id;
  out.path = dir / archive_name;
  out.marker = partner.complete.marker;
  // A re-generation first withdraws the marker, so nobody takes a half-replaced delivery.
  if (!out.marker.empty()) fs::remove(dir / out.marker, ec);

  std::vector<TableJob> jobs;
  const std::string tmp_suffix = ".tmp-" + std::to_string(::getpid());
  for (const config::TableSource& t : partner.tables) {
    auto it = partner.schemas.find(t.name);
    if (it == partner.schemas.end()) {
      return Status::InvalidArgument("table \"" + t.name + "\" has no schema")
          .WithPartner(partner.id);
    }
    TableJob job;
    job.schema = &it->second;
    job.table = t.name;
    SLUICE_ASSIGN_OR_RETURN(job.member, MemberName(t.file, options.date));
    job.temp_csv = dir / ("." + t.name + ".csv" + tmp_suffix);
    jobs.push_back(std::move(job));
  }
  auto cleanup = [&] {
    std::error_code ignored;
    for (const TableJob& job : jobs) fs::remove(job.temp_csv, ignored);
  };
  for (const TableJob& job : jobs) {
    auto table = WriteTableCsv(partner, profile, job, options);
    if (!table.ok()) {
      cleanup();
      return std::move(table).status();
    }
    out.tables.push_back(std::move(table).value());
  }
  fs::path tmp_archive = dir / ("." + archive_name + tmp_suffix);
  Status st = WriteArchive(tmp_archive, kind, jobs, options.date);
  cleanup();
  if (st.ok()) st = SyncFile(tmp_archive);
  if (st.ok()) {
    fs::rename(tmp_archive, out.path, ec);
    if (ec) st = Status::IoError("cannot rename into " + out.path.string() + ": " + ec.message());
  }
  if (!st.ok()) {
    fs::remove(tmp_archive, ec);
    return st.WithPartner(partner.id);
  }
  out.archive_bytes = static_cast<int64_t>(fs::file_size(out.path, ec));
  if (!out.marker.empty()) SLUICE_RETURN_IF_ERROR(WriteEmptyFile(dir / out.marker));
  return out;
}

}  // namespace

// ---- public functions -------------------------------------------------------------------------

Result<DeliveryProfile> LoadDeliveryProfile(const PartnerConfig& partner) {
  DeliveryProfile p;
  fs::path path = partner.dir / "sample_data.yaml";
  std::error_code ec;
  if (partner.dir.empty() || !fs::exists(path, ec)) return p;
  std::string display = "partners/" + partner.id + "/sample_data.yaml";
  SLUICE_ASSIGN_OR_RETURN(config::Node root, config::LoadFile(path, display));
  config::Diagnostics diags;
  config::MapReader r(root, "sample_data.yaml", &diags);
  if (auto v = r.String("line_ending")) {
    if (*v == "lf" || *v == "crlf") {
      p.crlf = *v == "crlf";
    } else {
      r.ErrorAtKey("line_ending", "\"line_ending\" must be lf or crlf, got \"" + *v + "\"");
    }
  }
  if (auto v = r.Bool("bom")) p.bom = *v;
  if (auto v = r.String("headers")) {
    if (*v == "name" || *v == "alias") {
      p.alias_headers = *v == "alias";
    } else {
      r.ErrorAtKey("headers", "\"headers\" must be name or alias, got \"" + *v + "\"");
    }
  }
  if (auto v = r.String("column_order")) {
    if (*v == "schema") {
      p.column_order = DeliveryProfile::Order::kSchema;
    } else if (*v == "reversed") {
      p.column_order = DeliveryProfile::Order::kReversed;
    } else if (*v == "shuffled") {
      p.column_order = DeliveryProfile::Order::kShuffled;
    } else {
      r.ErrorAtKey("column_order",
                   "\"column_order\" must be schema, reversed or shuffled, got \"" + *v + "\"");
    }
  }
  if (auto v = r.StringList("extra_columns")) p.extra_columns = *v;
  if (auto v = r.StringList("omit_columns")) p.omit_columns = *v;
  if (auto v = r.String("text")) {
    if (*v == "latin" || *v == "korean") {
      p.korean_text = *v == "korean";
    } else {
      r.ErrorAtKey("text", "\"text\" must be latin or korean, got \"" + *v + "\"");
    }
  }
  if (auto v = r.Int("bad_rows", false, 0, 1000)) p.bad_rows = static_cast<int>(*v);
  r.Finish();
  // Omitted columns must exist somewhere and be nullable wherever they exist.
  for (const std::string& name : p.omit_columns) {
    bool found = false;
    for (const auto& [table, schema] : partner.schemas) {
      const ColumnSchema* c = schema.FindColumn(name);
      if (c == nullptr) continue;
      found = true;
      if (!c->nullable) {
        diags.Error(root.KeyLocation("omit_columns"),
                    "omit_columns: column \"" + name + "\" of table \"" + table +
                        "\" is not nullable; a partner cannot leave it out");
      }
    }
    if (!found) {
      diags.Error(
          root.KeyLocation("omit_columns"),
          "omit_columns: no table of partner " + partner.id + " has a column \"" + name + "\"");
    }
  }
  if (diags.HasErrors()) return diags.ToStatus();
  return p;
}

int64_t SampleDataReport::TotalCsvBytes() const {
  int64_t n = 0;
  for (const auto& a : archives)
    for (const auto& t : a.tables) n += t.csv_bytes;
  return n;
}

int64_t SampleDataReport::TotalRows() const {
  int64_t n = 0;
  for (const auto& a : archives)
    for (const auto& t : a.tables) n += t.rows;
  return n;
}

int64_t SampleDataReport::TotalBadRows() const {
  int64_t n = 0;
  for (const auto& a : archives)
    for (const auto& t : a.tables) n += t.bad_rows;
  return n;
}

Result<fs::path> LandingDir(const config::Pipeline& pipeline) {
  const std::string& url = pipeline.settings.store;
  constexpr std::string_view kFile = "file://";
  if (!url.starts_with(kFile)) {
    return Status::InvalidArgument(
        "sample data can only be written to a file:// store, and "
        "this pipeline's store is \"" +
        url + "\"; set store: file://./data in sluice.yaml");
  }
  return pipeline.Resolve(url.substr(kFile.size())) / "landing";
}

Result<SampleDataReport> GenerateSampleData(const config::Pipeline& pipeline,
                                            const SampleDataOptions& options) {
  if (options.rows < 1) {
    return Status::InvalidArgument("rows must be at least 1, got " + std::to_string(options.rows));
  }
  fs::path landing = options.landing_dir;
  if (landing.empty()) {
    SLUICE_ASSIGN_OR_RETURN(landing, LandingDir(pipeline));
  }
  std::vector<const PartnerConfig*> partners = pipeline.EnabledPartners();
  if (!options.partners.empty()) {
    std::vector<const PartnerConfig*> chosen;
    for (const std::string& id : options.partners) {
      auto it = std::find_if(partners.begin(), partners.end(),
                             [&](const PartnerConfig* p) { return p->id == id; });
      if (it == partners.end()) {
        std::string known;
        for (const PartnerConfig* p : partners) known += (known.empty() ? "" : ", ") + p->id;
        return Status::InvalidArgument("--partners names \"" + id +
                                       "\", which is not an enabled partner of " +
                                       pipeline.dir.string() + " (partners: " + known + ")");
      }
      if (std::find(chosen.begin(), chosen.end(), *it) == chosen.end()) chosen.push_back(*it);
    }
    std::sort(chosen.begin(), chosen.end(),
              [](const PartnerConfig* a, const PartnerConfig* b) { return a->id < b->id; });
    partners = std::move(chosen);
  }
  // A landing folder is where real deliveries arrive: never replace or delete a file there
  // unless asked. Checked for every partner before writing anything, so a refusal changes
  // nothing on disk.
  if (!options.overwrite) {
    std::vector<std::string> existing;
    for (const PartnerConfig* p : partners) {
      if (options.existing_deliveries) {
        SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, options.existing_deliveries(p->id));
        existing.insert(existing.end(), names.begin(), names.end());
        continue;
      }
      fs::path dir = landing / p->id / options.date.ToString();
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) continue;
      std::vector<std::string> names;
      for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        if (!name.starts_with(".")) names.push_back((dir / name).string());
      }
      std::sort(names.begin(), names.end());
      existing.insert(existing.end(), names.begin(), names.end());
    }
    if (!existing.empty()) {
      std::string list;
      for (const std::string& f : existing) list += "\n  " + f;
      return Status::AlreadyExists(
          "the landing area already holds files for " + options.date.ToString() +
          "; sample data never replaces a delivery:" + list +
          "\nname only the partners to generate (--partners a,b), choose another --date, or "
          "pass --force to replace them with generated data");
    }
  }
  std::vector<std::optional<Result<GeneratedArchive>>> results(partners.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < partners.size(); i = next++) {
      results[i] = GeneratePartner(*partners[i], landing, options);
    }
  };
  unsigned threads = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                         : std::max(1u, std::thread::hardware_concurrency());
  threads =
      std::min<unsigned>(threads, static_cast<unsigned>(std::max<size_t>(1, partners.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();

  SampleDataReport report;
  for (auto& r : results) {
    if (!r->ok()) return std::move(*r).status();
    report.archives.push_back(std::move(*r).value());
  }
  return report;
}

}  // namespace sluice::example
