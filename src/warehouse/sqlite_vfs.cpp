// warehouse/sqlite_vfs.cpp: the writeback VFS the SQLite back-end opens its databases with.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "warehouse/sqlite_internal.h"

namespace sluice::warehouse::sqlite {

thread_local int64_t t_statement_journal_bytes = 0;
std::atomic<int64_t> g_wal_syncs{0};

namespace {

// A VFS over the default one whose database, WAL and rollback journal files start the kernel's
// writeback of what SQLite wrote every 8 MiB, without waiting (sync_file_range, as RocksDB's
// bytes_per_sync): the fsyncs at a merge's commit or checkpoint then find little left to flush
// instead of ~100 MiB each, so a core no longer idles on them. Durability is unchanged: SQLite
// still fsyncs where it did. Writeback needs a descriptor of our own, and closing any
// descriptor of a file drops every POSIX lock the process holds on it. SQLite locks the main
// database file (and the -shm file), never a WAL or journal: those get a descriptor per open
// file, closed with it; a database gets one
// descriptor per inode for the life of the process (DatabaseWritebackFd), never closed, so no
// connection's locks can be released by it.
//
// Statement journals (SQLITE_OPEN_SUBJOURNAL) are kept in memory by this VFS up to
// kStatementJournalInMemory and only then written to a real temp file (MemoryJournal below).
struct WritebackFile {
  sqlite3_file base;
  int fd;                  // our own read-only descriptor of the file, or -1
  bool owns_fd;            // true for a WAL's descriptor; a database's is shared and kept
  bool statement_journal;  // writes are counted in t_statement_journal_bytes
  bool wal;                // syncs are counted in g_wal_syncs
  sqlite3_int64 pending;   // bytes written since writeback was last started
  // Statement journals only: the bytes while in memory (null once spilled to RealFile), and
  // what spilling needs to open the real file.
  std::string* memory;
  sqlite3_vfs* real_vfs;
  int open_flags;
};
constexpr size_t kWritebackHeader = (sizeof(WritebackFile) + 15) & ~size_t{15};
constexpr sqlite3_int64 kWritebackEvery = sqlite3_int64{8} << 20;

sqlite3_vfs* RealVfs(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
sqlite3_file* RealFile(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kWritebackHeader);
}
WritebackFile* Wb(sqlite3_file* f) { return reinterpret_cast<WritebackFile*>(f); }

#define SLUICE_FORWARD(name, ...) RealFile(f)->pMethods->name(RealFile(f), ##__VA_ARGS__)

const sqlite3_io_methods kWritebackMethods = {
    3,
    /* xClose */
    [](sqlite3_file* f) {
      if (Wb(f)->fd >= 0 && Wb(f)->owns_fd) ::close(Wb(f)->fd);
      Wb(f)->fd = -1;
      return SLUICE_FORWARD(xClose);
    },
    [](sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
      return SLUICE_FORWARD(xRead, buf, amt, off);
    },
    /* xWrite */
    [](sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
      int rc = SLUICE_FORWARD(xWrite, buf, amt, off);
      WritebackFile* w = Wb(f);
      if (w->statement_journal) t_statement_journal_bytes += amt;
      if (rc == SQLITE_OK && w->fd >= 0 && (w->pending += amt) >= kWritebackEvery) {
        (void)::sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        w->pending = 0;
      }
      return rc;
    },
    [](sqlite3_file* f, sqlite3_int64 size) { return SLUICE_FORWARD(xTruncate, size); },
    [](sqlite3_file* f, int flags) {
      Wb(f)->pending = 0;
      if (Wb(f)->wal) g_wal_syncs.fetch_add(1, std::memory_order_relaxed);
      return SLUICE_FORWARD(xSync, flags);
    },
    [](sqlite3_file* f, sqlite3_int64* size) { return SLUICE_FORWARD(xFileSize, size); },
    [](sqlite3_file* f, int lock) { return SLUICE_FORWARD(xLock, lock); },
    [](sqlite3_file* f, int lock) { return SLUICE_FORWARD(xUnlock, lock); },
    [](sqlite3_file* f, int* out) { return SLUICE_FORWARD(xCheckReservedLock, out); },
    [](sqlite3_file* f, int op, void* arg) { return SLUICE_FORWARD(xFileControl, op, arg); },
    [](sqlite3_file* f) { return SLUICE_FORWARD(xSectorSize); },
    [](sqlite3_file* f) { return SLUICE_FORWARD(xDeviceCharacteristics); },
    [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return SLUICE_FORWARD(xShmMap, page, size, extend, out);
    },
    [](sqlite3_file* f, int offset, int n, int flags) {
      return SLUICE_FORWARD(xShmLock, offset, n, flags);
    },
    [](sqlite3_file* f) { SLUICE_FORWARD(xShmBarrier); },
    [](sqlite3_file* f, int del) { return SLUICE_FORWARD(xShmUnmap, del); },
    [](sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
      return SLUICE_FORWARD(xFetch, off, amt, out);
    },
    [](sqlite3_file* f, sqlite3_int64 off, void* p) { return SLUICE_FORWARD(xUnfetch, off, p); },
};

// --- statement journals in memory ------------------------------------------------------
//
// A statement that adds a batch of rows inside a merge's transaction keeps the original of
// every page it changes in a statement journal. SQLite keeps the first 64 KiB in memory and
// writes the rest to a temp file (/var/tmp/etilqs_*): in key order a batch journals about its
// own bytes (~1 MiB), so nearly every batch of a merge wrote its journal to a file, 185 MB for
// two partners of the 1 GiB benchmark set, which the kernel copied and later wrote back. This
// VFS keeps a statement journal in a buffer up to kStatementJournalInMemory and only then
// moves it to a real temp file (an out-of-order batch can journal a page per row). Buffers
// are reused across statements (a free list per thread), so memory is not zeroed or faulted
// in afresh per batch. Every write is counted in t_statement_journal_bytes either way.
constexpr size_t kStatementJournalInMemory = size_t{8} << 20;

thread_local std::vector<std::unique_ptr<std::string>> t_journal_buffers;

std::string* TakeJournalBuffer() {
  if (t_journal_buffers.empty()) return new std::string();
  std::string* b = t_journal_buffers.back().release();
  t_journal_buffers.pop_back();
  return b;
}

void ReturnJournalBuffer(std::string* b) {
  b->clear();  // keeps its capacity
  if (t_journal_buffers.size() < 4) {
    t_journal_buffers.emplace_back(b);
  } else {
    delete b;
  }
}

// Moves an in-memory journal to a real temp file of the wrapped VFS. SQLite error code.
int SpillJournal(sqlite3_file* f) {
  WritebackFile* w = Wb(f);
  sqlite3_file* real = RealFile(f);
  int out = 0;
  int rc = w->real_vfs->xOpen(w->real_vfs, nullptr, real, w->open_flags, &out);
  if (rc != SQLITE_OK || real->pMethods == nullptr) return rc == SQLITE_OK ? SQLITE_IOERR : rc;
  // In pieces of 64 KiB: the unix VFS writes at most 128 KiB - 1 bytes per call (it masks the
  // length) and reports the rest of a longer write as SQLITE_FULL.
  constexpr size_t kPiece = size_t{64} << 10;
  const std::string& m = *w->memory;
  for (size_t at = 0; at < m.size(); at += kPiece) {
    const int n = static_cast<int>(std::min(kPiece, m.size() - at));
    rc = real->pMethods->xWrite(real, m.data() + at, n, static_cast<sqlite3_int64>(at));
    if (rc != SQLITE_OK) {
      real->pMethods->xClose(real);
      real->pMethods = nullptr;
      return rc;
    }
  }
  ReturnJournalBuffer(w->memory);
  w->memory = nullptr;
  return SQLITE_OK;
}

#define SLUICE_REAL(name, ...) RealFile(f)->pMethods->name(RealFile(f), ##__VA_ARGS__)

const sqlite3_io_methods kMemoryJournalMethods = {
    1,
    /* xClose */
    [](sqlite3_file* f) {
      WritebackFile* w = Wb(f);
      if (w->memory != nullptr) {
        ReturnJournalBuffer(w->memory);
        w->memory = nullptr;
        return SQLITE_OK;
      }
      return SLUICE_REAL(xClose);
    },
    /* xRead */
    [](sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
      const std::string* m = Wb(f)->memory;
      if (m == nullptr) return SLUICE_REAL(xRead, buf, amt, off);
      const size_t have =
          off < static_cast<sqlite3_int64>(m->size())
              ? std::min(m->size() - static_cast<size_t>(off), static_cast<size_t>(amt))
              : 0;
      if (have > 0) std::memcpy(buf, m->data() + off, have);
      if (have < static_cast<size_t>(amt)) {
        // SQLite expects the rest zeroed on a short read.
        std::memset(static_cast<char*>(buf) + have, 0, static_cast<size_t>(amt) - have);
        return SQLITE_IOERR_SHORT_READ;
      }
      return SQLITE_OK;
    },
    /* xWrite */
    [](sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
      WritebackFile* w = Wb(f);
      t_statement_journal_bytes += amt;
      if (w->memory != nullptr &&
          static_cast<size_t>(off) + static_cast<size_t>(amt) > kStatementJournalInMemory) {
        if (int rc = SpillJournal(f); rc != SQLITE_OK) return rc;
      }
      if (w->memory == nullptr) return SLUICE_REAL(xWrite, buf, amt, off);
      std::string& m = *w->memory;
      const size_t at = static_cast<size_t>(off);
      const char* bytes = static_cast<const char*>(buf);
      if (at == m.size()) {
        m.append(bytes, static_cast<size_t>(amt));  // the usual case: appending
      } else {
        if (at + static_cast<size_t>(amt) > m.size()) m.resize(at + static_cast<size_t>(amt));
        std::memcpy(m.data() + at, bytes, static_cast<size_t>(amt));
      }
      return SQLITE_OK;
    },
    /* xTruncate */
    [](sqlite3_file* f, sqlite3_int64 size) {
      std::string* m = Wb(f)->memory;
      if (m == nullptr) return SLUICE_REAL(xTruncate, size);
      if (static_cast<size_t>(size) < m->size()) m->resize(static_cast<size_t>(size));
      return SQLITE_OK;
    },
    /* xSync */
    [](sqlite3_file* f, int flags) {
      return Wb(f)->memory != nullptr ? SQLITE_OK : SLUICE_REAL(xSync, flags);
    },
    /* xFileSize */
    [](sqlite3_file* f, sqlite3_int64* size) {
      const std::string* m = Wb(f)->memory;
      if (m == nullptr) return SLUICE_REAL(xFileSize, size);
      *size = static_cast<sqlite3_int64>(m->size());
      return SQLITE_OK;
    },
    // A statement journal is private to its connection: never locked.
    [](sqlite3_file*, int) { return SQLITE_OK; },
    [](sqlite3_file*, int) { return SQLITE_OK; },
    [](sqlite3_file*, int* out) {
      *out = 0;
      return SQLITE_OK;
    },
    [](sqlite3_file* f, int op, void* arg) {
      return Wb(f)->memory != nullptr ? SQLITE_NOTFOUND : SLUICE_REAL(xFileControl, op, arg);
    },
    [](sqlite3_file* f) { return Wb(f)->memory != nullptr ? 4096 : SLUICE_REAL(xSectorSize); },
    [](sqlite3_file* f) {
      return Wb(f)->memory != nullptr ? 0 : SLUICE_REAL(xDeviceCharacteristics);
    },
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

#undef SLUICE_REAL
#undef SLUICE_FORWARD

// A read-only descriptor of the database file `name`, one per inode for the life of the process
// and never closed (see above), or -1. At most kMaxDatabaseFds files get one; later ones just
// skip the early writeback. Holding the descriptor keeps a deleted file's inode, so an inode
// number in the table can never be reused by another file meanwhile.
int DatabaseWritebackFd(const char* name) {
  constexpr size_t kMaxDatabaseFds = 64;
  static std::mutex mu;
  static std::map<std::pair<dev_t, ino_t>, int>* fds = new std::map<std::pair<dev_t, ino_t>, int>;
  struct stat st {};
  if (::stat(name, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  std::lock_guard<std::mutex> lock(mu);
  auto it = fds->find({st.st_dev, st.st_ino});
  if (it != fds->end()) return it->second;
  if (fds->size() >= kMaxDatabaseFds) return -1;
  int fd = ::open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat opened {};
  // Renamed or replaced between the stat and the open: keep it out of the table (it would be
  // filed under another inode) but still never close it, as it may be the database's inode.
  if (::fstat(fd, &opened) != 0 || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
    return -1;
  }
  fds->emplace(std::make_pair(st.st_dev, st.st_ino), fd);
  return fd;
}

int WritebackOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags,
                  int* out_flags) {
  sqlite3_file* real = RealFile(f);
  if (name == nullptr && (flags & SQLITE_OPEN_SUBJOURNAL) != 0) {
    WritebackFile* w = Wb(f);
    w->fd = -1;
    w->owns_fd = false;
    w->statement_journal = true;
    w->wal = false;
    w->pending = 0;
    w->memory = TakeJournalBuffer();
    w->real_vfs = RealVfs(vfs);
    w->open_flags = flags;
    real->pMethods = nullptr;
    if (out_flags != nullptr) *out_flags = flags;
    f->pMethods = &kMemoryJournalMethods;
    return SQLITE_OK;
  }
  int rc = RealVfs(vfs)->xOpen(RealVfs(vfs), name, real, flags, out_flags);
  if (rc != SQLITE_OK || real->pMethods == nullptr) {
    f->pMethods = nullptr;
    return rc;
  }
  // The default unix VFS speaks io_methods version 3; anything older is left unwrapped.
  if (real->pMethods->iVersion < 3) {
    real->pMethods->xClose(real);
    f->pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  WritebackFile* w = Wb(f);
  w->fd = -1;
  w->owns_fd = false;
  w->statement_journal = (flags & SQLITE_OPEN_SUBJOURNAL) != 0;
  w->wal = (flags & SQLITE_OPEN_WAL) != 0;
  w->pending = 0;
  w->memory = nullptr;
  w->real_vfs = nullptr;
  w->open_flags = flags;
  if (name != nullptr && (flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0) {
    w->fd = ::open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    w->owns_fd = true;
  } else if (name != nullptr && (flags & SQLITE_OPEN_MAIN_DB) != 0) {
    w->fd = DatabaseWritebackFd(name);
  }
  f->pMethods = &kWritebackMethods;
  return SQLITE_OK;
}

}  // namespace

// The VFS is registered once per process (not as the default) and used by OpenWarehouse;
// nullptr when there is no default VFS to wrap.
const char* WritebackVfsName() {
  static const char* name = []() -> const char* {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr || real->iVersion < 2) return nullptr;
    static sqlite3_vfs vfs = *real;
    vfs.pNext = nullptr;
    vfs.zName = "sluice-writeback";
    vfs.pAppData = real;
    vfs.szOsFile = static_cast<int>(kWritebackHeader) + real->szOsFile;
    vfs.xOpen = WritebackOpen;
    vfs.xDelete = [](sqlite3_vfs* v, const char* n, int sync) {
      return RealVfs(v)->xDelete(RealVfs(v), n, sync);
    };
    vfs.xAccess = [](sqlite3_vfs* v, const char* n, int flags, int* out) {
      return RealVfs(v)->xAccess(RealVfs(v), n, flags, out);
    };
    vfs.xFullPathname = [](sqlite3_vfs* v, const char* n, int size, char* out) {
      return RealVfs(v)->xFullPathname(RealVfs(v), n, size, out);
    };
    vfs.xDlOpen = [](sqlite3_vfs* v, const char* n) { return RealVfs(v)->xDlOpen(RealVfs(v), n); };
    vfs.xDlError = [](sqlite3_vfs* v, int n, char* out) {
      RealVfs(v)->xDlError(RealVfs(v), n, out);
    };
    vfs.xDlSym = [](sqlite3_vfs* v, void* h, const char* sym) {
      return RealVfs(v)->xDlSym(RealVfs(v), h, sym);
    };
    vfs.xDlClose = [](sqlite3_vfs* v, void* h) { RealVfs(v)->xDlClose(RealVfs(v), h); };
    vfs.xRandomness = [](sqlite3_vfs* v, int n, char* out) {
      return RealVfs(v)->xRandomness(RealVfs(v), n, out);
    };
    vfs.xSleep = [](sqlite3_vfs* v, int us) { return RealVfs(v)->xSleep(RealVfs(v), us); };
    vfs.xCurrentTime = [](sqlite3_vfs* v, double* out) {
      return RealVfs(v)->xCurrentTime(RealVfs(v), out);
    };
    vfs.xGetLastError = [](sqlite3_vfs* v, int n, char* out) {
      return RealVfs(v)->xGetLastError(RealVfs(v), n, out);
    };
    vfs.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* out) {
      return RealVfs(v)->xCurrentTimeInt64(RealVfs(v), out);
    };
    if (vfs.iVersion >= 3) {
      vfs.xSetSystemCall = [](sqlite3_vfs* v, const char* n, sqlite3_syscall_ptr p) {
        return RealVfs(v)->xSetSystemCall(RealVfs(v), n, p);
      };
      vfs.xGetSystemCall = [](sqlite3_vfs* v, const char* n) {
        return RealVfs(v)->xGetSystemCall(RealVfs(v), n);
      };
      vfs.xNextSystemCall = [](sqlite3_vfs* v, const char* n) {
        return RealVfs(v)->xNextSystemCall(RealVfs(v), n);
      };
    }
    if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
    return vfs.zName;
  }();
  return name;
}

}  // namespace sluice::warehouse::sqlite
