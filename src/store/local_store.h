// store/local_store.h: the file:// object store, a folder on the local disk.
//
// Key "a/b/c.csv" is the file <root>/a/b/c.csv. Writes go to an unnamed O_TMPFILE (or a
// ".sluice-tmp-" file where the file system has no O_TMPFILE) in the destination folder, are
// fsynced, and are linked into place with rename() at Commit(), so readers never see half a file
// and a writer killed before Commit() leaves nothing behind. PublishPrefix() swaps a staging folder
// with the final folder in one renameat2(RENAME_EXCHANGE). Symlinks met on the final path
// component are refused (O_NOFOLLOW), and List() does not follow symlinked folders.
// Thread-safety: the store is stateless apart from its root and safe to share between threads.
#pragma once

#include <filesystem>
#include <memory>

#include "store/object_store.h"

namespace sluice::store {

// Opens (creating it when absent) the store rooted at the absolute folder `root`.
Result<std::unique_ptr<ObjectStore>> OpenLocalStore(const std::filesystem::path& root);

}  // namespace sluice::store
