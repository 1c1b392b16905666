// `sluice init DIR [--sample-data]`: writes the example pipeline folder (embedded in the binary)
// and, with --sample-data, each partner's archive for a date into the landing area. It never
// replaces or deletes a file already in the landing area unless --force: that is where real
// deliveries arrive.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "config/pipeline_config.h"
#include "core/date.h"
#include "core/strings.h"
#include "example/example_files.h"
#include "example/sample_data.h"
#include "store/object_store.h"

namespace sluice::cli {

namespace {

struct InitArgs {
  std::string dir;
  bool sample_data = false;
  std::string date;
  int64_t rows = 1000;
  uint64_t seed = 1;
  int partner_count = 0;
  std::string partners;  // --partners: ids (a,b), or a count in the old spelling
  CLI::Option* partners_option = nullptr;
  std::vector<std::string> partner_ids;  // parsed from --partners
  int threads = 0;
  bool force = false;
  bool data_only = false;
};

// A store that is not a local folder (s3://) gets the sample archives generated into a temporary
// folder and uploaded to landing/<partner>/<date>/, each partner's marker after its archive so
// the sensor never sees a marked but incomplete delivery. Returns the uploaded keys.
Result<std::vector<std::string>> UploadLanding(const config::Pipeline& pipeline,
                                               const std::filesystem::path& tmp,
                                               const example::SampleDataReport& report) {
  SLUICE_ASSIGN_OR_RETURN(
      std::unique_ptr<store::ObjectStore> store,
      store::OpenStore(pipeline.settings.store, pipeline.dir, pipeline.settings.s3));
  std::vector<std::string> keys;
  for (const example::GeneratedArchive& a : report.archives) {
    std::vector<std::filesystem::path> files;
    std::filesystem::path dir = a.path.parent_path();
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end(), [&](const auto& x, const auto& y) {
      bool xm = x.filename() == a.marker, ym = y.filename() == a.marker;
      return xm != ym ? ym : x < y;
    });
    for (const std::filesystem::path& f : files) {
      std::string key = "landing/" + std::filesystem::relative(f, tmp).generic_string();
      SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<store::OutputStream> out, store->Create(key));
      std::ifstream in(f, std::ios::binary);
      std::string buf(1 << 20, '\0');
      while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) {
          SLUICE_RETURN_IF_ERROR(out->Write(std::string_view(buf.data(), in.gcount())));
        }
      }
      SLUICE_RETURN_IF_ERROR(out->Commit());
      keys.push_back(store->Describe() + "/" + key);
    }
  }
  return keys;
}

int RunInit(const InitArgs& args) {
  if (!args.data_only) {
    auto written = example::WriteExampleFolder(
        args.dir, {.force = args.force, .partners = args.partner_count});
    if (!written.ok()) {
      std::cerr << "sluice init: " << written.status().ToString() << "\n";
      return written.status().code() == StatusCode::kIoError ? kExitFailures : kExitUsage;
    }
    std::cout << "wrote the example pipeline to " << args.dir << " (" << written->size()
              << " files)\n";
  }
  // Load the folder: proves what was written is valid and gives the generator its config.
  auto pipeline = config::LoadPipeline(args.dir);
  if (!pipeline.ok()) {
    if (args.data_only) {
      std::cerr << "sluice init --data-only: " << pipeline.status().ToString()
                << "\nfix the pipeline folder first (sluice validate " << args.dir << ")\n";
      return kExitUsage;
    }
    std::cerr << "sluice init: the example written to " << args.dir
              << " does not validate (a bug in sluice; please report it):\n"
              << pipeline.status().ToString() << "\n";
    return kExitFailures;
  }
  std::string date_text;
  if (args.sample_data) {
    Result<Date> date =
        args.date.empty() ? Today(pipeline->settings.timezone) : ParseDate(args.date);
    if (!date.ok()) {
      std::cerr << "sluice init: --date: " << date.status().ToString() << "\n";
      return kExitUsage;
    }
    date_text = date->ToString();
    example::SampleDataOptions options;
    options.date = *date;
    options.seed = args.seed;
    options.rows = args.rows;
    options.threads = args.threads;
    options.partners = args.partner_ids;
    options.overwrite = args.force;
    const bool remote = pipeline->settings.store.rfind("file://", 0) != 0;
    std::filesystem::path tmp;
    std::unique_ptr<store::ObjectStore> remote_store;
    if (remote) {
      tmp = pipeline->dir / ".sluice-landing-upload";
      std::filesystem::remove_all(tmp);
      options.landing_dir = tmp;
      // The store's landing area, not the temporary folder, is where deliveries are.
      options.existing_deliveries =
          [&](const std::string& partner) -> Result<std::vector<std::string>> {
        if (!remote_store) {
          SLUICE_ASSIGN_OR_RETURN(
              remote_store,
              store::OpenStore(pipeline->settings.store, pipeline->dir, pipeline->settings.s3));
        }
        store::PartnerStore ps(remote_store.get(), partner);
        SLUICE_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> listed,
                                ps.List("landing", date_text + "/"));
        std::vector<std::string> names;
        for (const store::ObjectInfo& o : listed) {
          names.push_back(remote_store->Describe() + "/" + o.key);
        }
        return names;
      };
    }
    auto report = example::GenerateSampleData(*pipeline, options);
    if (report.ok() && remote) {
      auto uploaded = UploadLanding(*pipeline, tmp, *report);
      std::error_code ec;
      std::filesystem::remove_all(tmp, ec);
      if (!uploaded.ok()) {
        std::cerr << "sluice init: sample data: upload to " << pipeline->settings.store << ": "
                  << uploaded.status().ToString() << "\n";
        return kExitFailures;
      }
      for (const std::string& k : *uploaded) std::cout << "  uploaded " << k << "\n";
    }
    if (!report.ok()) {
      std::cerr << "sluice init: sample data: " << report.status().ToString() << "\n";
      StatusCode code = report.status().code();
      return code == StatusCode::kInvalidArgument || code == StatusCode::kAlreadyExists
                 ? kExitUsage
                 : kExitFailures;
    }
    for (const example::GeneratedArchive& a : report->archives) {
      int64_t csv = 0, rows = 0, bad = 0;
      for (const auto& t : a.tables) {
        csv += t.csv_bytes;
        rows += t.rows;
        bad += t.bad_rows;
      }
      std::error_code ec;
      std::cout << "  " << a.partner << ": "
                << std::filesystem::relative(a.path, pipeline->dir, ec).string() << " ("
                << a.tables.size() << " tables, " << rows << " rows, " << bad << " bad, "
                << FormatBytes(csv) << " of CSV, " << FormatBytes(a.archive_bytes) << " archive"
                << (a.marker.empty() ? "" : ", marker " + a.marker) << ")\n";
    }
    std::cout << "sample data for " << date_text << ": " << report->TotalRows() << " rows ("
              << report->TotalBadRows() << " bad), " << report->TotalCsvBytes()
              << " bytes of CSV\n";
  }
  std::cout << "next: sluice validate " << args.dir << " && sluice run " << args.dir
            << (date_text.empty() ? "" : " --date " + date_text) << "\n";
  return kExitOk;
}

}  // namespace

void RegisterInit(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("init", "Write an example pipeline folder");
  cmd->footer(
      "Examples:\n"
      "  sluice init ./pipeline --sample-data --date 2026-11-24\n"
      "  sluice init ./pipeline --data-only --partners newco --date 2026-11-25   # try a new "
      "partner\n"
      "Never replaces a file already in the landing area unless --force.");
  auto args = std::make_shared<InitArgs>();
  cmd->add_option("DIR", args->dir, "Folder to create (must be empty or new)")->required();
  cmd->add_flag("--sample-data", args->sample_data,
                "Also write each partner's archive for --date into data/landing/");
  cmd->add_option("--date", args->date,
                  "Delivery date of the sample data, YYYY-MM-DD (default: today in the "
                  "pipeline's time zone)")
      ->check(NotEmptyDate());
  cmd->add_option("--rows", args->rows, "Data rows per table and partner (default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  cmd->add_option("--seed", args->seed,
                  "Seed of the sample data; the same seed gives the same "
                  "bytes (default 1)");
  cmd->add_option("--partner-count", args->partner_count,
                  "Number of partners of the example folder (default: the example's 4; more "
                  "adds copies acme-2, globex-2, ...)")
      ->check(CLI::Range(1, 1000));
  args->partners_option = cmd->add_option(
      "--partners", args->partners,
      "Only these partners get sample data, comma-separated (default: every enabled one); "
      "with --data-only, the partners of DIR to generate for");
  cmd->add_option("--threads", args->threads, "Partners generated at once (default: cores)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--force", args->force,
                "Write into a folder that is not empty, and replace files already in the "
                "landing area for --date (a real delivery there is lost)");
  cmd->add_flag("--data-only", args->data_only,
                "Write only sample data, for the existing pipeline folder DIR (its own "
                "partners and schemas); implies --sample-data");
  cmd->callback([args, exit_code] {
    if (args->data_only) args->sample_data = true;
    // `--partners N` was the partner count until `--partners a,b` came to name partners, as in
    // run and repair. A bare number is still read as a count, with a warning.
    if (args->partners_option->count() > 0 && !args->partners.empty() &&
        std::all_of(args->partners.begin(), args->partners.end(),
                    [](char c) { return c >= '0' && c <= '9'; }) &&
        !args->data_only) {
      std::cerr << "sluice init: warning: --partners " << args->partners
                << " as a number of partners is deprecated; use --partner-count " << args->partners
                << " (--partners now names partners: --partners acme,globex)\n";
      int count = 0;
      try {
        count = std::stoi(args->partners);
      } catch (const std::exception&) {
        count = 0;
      }
      if (count < 1 || count > 1000) {
        std::cerr << "sluice init: --partners: a count must be between 1 and 1000, got "
                  << args->partners << "\n";
        *exit_code = kExitUsage;
        return;
      }
      args->partner_count = count;
    } else {
      auto ids = PartnersOrReport(args->partners, args->partners_option, "init",
                                  "generate sample data for every partner");
      if (!ids) {
        *exit_code = kExitUsage;
        return;
      }
      args->partner_ids = std::move(*ids);
      if (!args->partner_ids.empty() && !args->sample_data) {
        std::cerr << "sluice init: --partners names the partners that get sample data; add "
                     "--sample-data (or --data-only for an existing folder)\n";
        *exit_code = kExitUsage;
        return;
      }
      // The example's partners are known before anything is written: a typo must not leave a
      // folder behind.
      if (!args->data_only) {
        std::vector<std::string> known = example::ExamplePartnerIdsFor(args->partner_count);
        for (const std::string& id : args->partner_ids) {
          if (std::find(known.begin(), known.end(), id) == known.end()) {
            std::cerr << "sluice init: --partners names \"" << id
                      << "\", which is not a partner of the example (" << Join(known, ", ")
                      << ")\n";
            *exit_code = kExitUsage;
            return;
          }
        }
      }
    }
    // Before anything is written: a bad --date must not leave a half-made folder behind.
    if (!args->date.empty()) {
      if (Result<Date> date = ParseDate(args->date); !date.ok()) {
        std::cerr << "sluice init: --date: " << date.status().ToString() << "\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    *exit_code = RunInit(*args);
  });
}

}  // namespace sluice::cli
