// store/s3_store.h: the s3:// object store, on any S3-compatible endpoint.
//
// "s3://bucket/prefix" maps key K to object "prefix/K" of the bucket. Settings come from
// sluice.yaml's `s3:` section (endpoint, region, path_style, multipart_threshold,
// multipart_part_size, upload_concurrency), overridden by
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and AWS_REGION / AWS_DEFAULT_REGION; credentials only
// from the environment or the shared credentials file (s3_client.h), never from sluice.yaml.
//
// Writes (s3_upload.h): an object up to multipart_threshold is one PUT at Commit(); a larger one a
// multipart upload whose parts go up as they are written, up to upload_concurrency PUTs in flight
// per store, completed at Commit() and aborted when the stream is dropped without Commit().
// Either way the object appears whole or not at all. A writer holds at most 1 MiB in memory; the
// rest waits in an unnamed spool file under $TMPDIR (or /tmp), so requests can be retried.
// Reads: ranged GETs of half a part's size, the next one fetched while the reader consumes the
// current one (two ranges held: a part's worth of memory), so a dropped connection resumes where
// it stopped and an object replaced mid-read is detected (If-Match on the ETag) instead of
// mixing two versions.
// PublishPrefix: S3 has no folder rename, so the staged objects are copied server-side onto the
// final keys, the final keys the staged set lacks are deleted (batched DeleteObjects), and the
// staging copies are removed. Callers write a manifest last as the commit point (extract does)
// and readers go through it, so a half-published set is never read.
// Thread-safety: safe to share between threads; streams are not.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/pipeline_config.h"
#include "store/object_store.h"

namespace sluice::store {

struct S3StoreOptions {
  // Overrides of the settings for tests; 0 / empty keeps the configured value.
  int64_t part_size = 0;  // bytes per part and the multipart threshold
  int64_t threshold = 0;  // the multipart threshold alone
  int upload_concurrency = 0;
  int max_attempts = 0;  // per request
  int64_t retry_budget_ms = 0;
  std::function<void(int64_t ms)> sleep_ms;
  int list_page_size = 0;  // max-keys per ListObjectsV2 page (1000 when 0)
};

// Parses "s3://bucket[/prefix]". InvalidArgument naming the problem.
struct S3Url {
  std::string bucket;
  std::string prefix;  // "" or ending in "/"
};
Result<S3Url> ParseS3Url(std::string_view url);

// Opens the store; fails when no credentials are found (nothing is sent until the first call).
Result<std::unique_ptr<ObjectStore>> OpenS3Store(std::string_view url, const config::S3Config& s3,
                                                 const S3StoreOptions& options = {});

// The most PUTs (whole objects or parts) an S3 store has had in flight at once; -1 for other
// stores.
int S3UploadPeak(const ObjectStore& store);

// Requests sent so far by an S3 store (every retry counts); -1 for other stores.
int64_t S3RequestCount(const ObjectStore& store);

}  // namespace sluice::store
