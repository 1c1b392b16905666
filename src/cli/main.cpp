// sluice: a multi-partner data ingestion pipeline. main only dispatches (cli/commands/app.cpp).
#include "cli/commands/commands.h"

int main(int argc, char** argv) { return sluice::cli::Main(argc, argv); }
