// example/example_files.h: the example pipeline folder (examples/partner_ingestion), embedded in
// the binary at build time, and the code that writes it out for `sluice init`.
//
// The files are compiled in (src/example/embed_files.cmake), so `sluice init` works for a user
// who has only the binary. WriteExampleFolder() can also widen the example to N partners by
// copying the four partner folders under new ids (acme-2, globex-2, ...), which the benchmark
// uses. Thread-safety: ExampleFiles() is immutable data; WriteExampleFolder() writes files and
// must not race with another writer of the same folder.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::example {

struct EmbeddedFile {
  std::string_view path;  // relative, '/'-separated: "partners/acme/partner.yaml"
  std::string_view content;
};

// Every file of examples/partner_ingestion, sorted by path.
const std::vector<EmbeddedFile>& ExampleFiles();

// The partner ids of the embedded example, sorted ("acme", "globex", ...).
std::vector<std::string> ExamplePartnerIds();

struct WriteExampleOptions {
  // Overwrite files in a folder that is not empty. Without it a non-empty folder is refused.
  bool force = false;
  // Number of partners to write; 0 means the example's own partners. Fewer keeps the first
  // ones; more adds copies of the example's partners under ids "<id>-2", "<id>-3", ...
  int partners = 0;
};

// The partner ids WriteExampleFolder() writes for `partners` (0: the example's own), sorted.
std::vector<std::string> ExamplePartnerIdsFor(int partners);

// Writes the example pipeline folder into `dir` (created when missing). Each file is written to
// a temporary name and renamed, so an interrupted init leaves no half-written file.
// AlreadyExists when `dir` is not empty and !force; InvalidArgument for a bad partner count;
// IoError naming the file otherwise. Returns the files written, relative to `dir`.
Result<std::vector<std::string>> WriteExampleFolder(const std::filesystem::path& dir,
                                                    const WriteExampleOptions& options = {});

}  // namespace sluice::example
