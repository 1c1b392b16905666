// example/sample_data.h: deterministic sample deliveries for a pipeline's partners.
//
// For every enabled partner of a loaded pipeline, writes the archive the partner would deliver
// for a date into the landing area of the pipeline's (file://) store:
//   <store>/landing/<partner>/<YYYY-MM-DD>/<PartnerConfig::ArchiveName(date)>
// plus the completion marker when the partner uses one. The CSV inside follows the partner's
// schemas and dialect (delimiter, encoding via iconv) and its partners/<id>/sample_data.yaml
// "delivery profile": line endings, BOM, header spellings (names or aliases), column order,
// extra and omitted columns, Korean text, and a few bad rows (kept below max_reject_ratio).
// A partner without sample_data.yaml gets plain defaults, so any new partner works.
//
// Output is a pure function of (pipeline config, date, seed, rows): byte-identical archives for
// the same inputs. Memory is bounded at any scale: each CSV is streamed to a temporary file and
// from there into the archive (libarchive: tar + gzip/zstd, or zip, chosen by the archive
// name's extension). Archives appear atomically (temp + rename), then the marker.
// Thread-safety: GenerateSampleData() runs partners on its own threads; callers must not run two
// generations into the same landing folder at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/date.h"
#include "core/status.h"

namespace sluice::example {

// How one partner's files look on the wire (partners/<id>/sample_data.yaml).
struct DeliveryProfile {
  enum class Order { kSchema, kReversed, kShuffled };
  bool crlf = false;
  bool bom = false;
  bool alias_headers = false;  // header = the column's first alias (its name when it has none)
  Order column_order = Order::kSchema;
  std::vector<std::string> extra_columns;  // sent by the partner, unknown to the schema
  std::vector<std::string> omit_columns;   // nullable columns the partner does not send
  bool korean_text = false;
  int bad_rows = 2;  // per table; capped so the table stays under its max_reject_ratio
};

// Reads partners/<id>/sample_data.yaml; defaults when the file does not exist.
// InvalidArgument naming file:line for a bad key or value, or an omitted non-nullable column.
Result<DeliveryProfile> LoadDeliveryProfile(const config::PartnerConfig& partner);

struct SampleDataOptions {
  Date date;
  uint64_t seed = 1;
  int64_t rows = 1000;  // data rows per table and partner (bad rows included)
  int threads = 0;      // partners generated at once; 0: number of cores
  // Only these partners (ids of the pipeline's enabled partners); empty: every enabled one.
  std::vector<std::string> partners;
  // Replace files already in a partner's landing folder for the date. Without it any file there
  // (a real delivery, a marker) makes the whole generation refuse before writing anything.
  bool overwrite = false;
  // Landing folder override (the store's landing/ folder by default); used by tests.
  std::filesystem::path landing_dir;
  // What the landing area already holds for a partner and options.date (names for the message),
  // when it is not landing_dir: the archives of a remote store are generated into a temporary
  // folder and uploaded, so the check that refuses to replace a delivery asks the store.
  std::function<Result<std::vector<std::string>>(const std::string& partner)> existing_deliveries;
};

struct GeneratedTable {
  std::string table;
  std::string member;  // file name inside the archive
  int64_t rows = 0;    // data rows written, bad ones included
  int64_t bad_rows = 0;
  int64_t csv_bytes = 0;  // uncompressed, as encoded in the archive
};

struct GeneratedArchive {
  std::string partner;
  std::filesystem::path path;
  std::string marker;  // "" when the partner has no marker
  int64_t archive_bytes = 0;
  std::vector<GeneratedTable> tables;
};

struct SampleDataReport {
  std::vector<GeneratedArchive> archives;  // sorted by partner id
  int64_t TotalCsvBytes() const;
  int64_t TotalRows() const;
  int64_t TotalBadRows() const;
};

// The landing folder of the pipeline's store. InvalidArgument for a store that is not file://.
Result<std::filesystem::path> LandingDir(const config::Pipeline& pipeline);

// Writes the archive of every enabled partner (or of options.partners) for options.date.
// AlreadyExists naming every file already in those partners' landing folders for the date,
// before anything is written, unless options.overwrite (then the archive and marker are
// replaced). InvalidArgument for bad options, profiles or an unknown partner; IoError naming the
// file otherwise.
Result<SampleDataReport> GenerateSampleData(const config::Pipeline& pipeline,
                                            const SampleDataOptions& options);

}  // namespace sluice::example
