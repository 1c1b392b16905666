// `sluice init DIR [--sample-data]`: writes the example pipeline folder (embedded in the binary)
// and, with --sample-data, each partner's archive for a date into the landing area.
#include <iostream>
#include <memory>

#include "cli/commands/commands.h"
#include "config/pipeline_config.h"
#include "core/date.h"
#include "core/strings.h"
#include "example/example_files.h"
#include "example/sample_data.h"

namespace sluice::cli {

namespace {

struct InitArgs {
  std::string dir;
  bool sample_data = false;
  std::string date;
  int64_t rows = 1000;
  uint64_t seed = 1;
  int partners = 0;
  int threads = 0;
  bool force = false;
  bool data_only = false;
};

int RunInit(const InitArgs& args) {
  if (!args.data_only) {
    auto written =
        example::WriteExampleFolder(args.dir, {.force = args.force, .partners = args.partners});
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
    auto report = example::GenerateSampleData(*pipeline, options);
    if (!report.ok()) {
      std::cerr << "sluice init: sample data: " << report.status().ToString() << "\n";
      return report.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailures;
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
  cmd->add_option("--partners", args->partners,
                  "Number of partners (default: the example's 4; more adds copies)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--threads", args->threads, "Partners generated at once (default: cores)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--force", args->force, "Write into a folder that is not empty");
  cmd->add_flag("--data-only", args->data_only,
                "Write only sample data, for the existing pipeline folder DIR (its own "
                "partners and schemas); implies --sample-data");
  cmd->callback([args, exit_code] {
    if (args->data_only) args->sample_data = true;
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
