// The file:// object store. See local_store.h for the crash-safety argument.
#include "store/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "core/strings.h"

namespace sluice::store {

namespace fs = std::filesystem;

namespace {

std::atomic<uint64_t> g_temp_counter{0};

// A fresh temporary file name for the destination folder. It is never derived from the
// destination's name: any valid name (up to 255 bytes) must leave room for it, and ".sluice-tmp-"
// plus the pid and a counter stays under 50 bytes.
std::string TempName() {
  return std::string(kInternalPrefix) + "tmp-" + std::to_string(::getpid()) + "." +
         std::to_string(++g_temp_counter);
}

Status Errno(int err, const std::string& what, const fs::path& path) {
  if (err == ENOENT) return Status::NotFound(what + " " + path.string() + ": not found");
  if (err == EACCES || err == EPERM) {
    return Status::PermissionDenied(what + " " + path.string() + ": " + std::strerror(err));
  }
  return Status::IoError(what + " " + path.string() + ": " + std::strerror(err));
}

Status FsyncPath(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno(errno, "open folder", dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Errno(err, "fsync folder", dir);
  return Status::Ok();
}

// The folder a rename took an entry out of. Another writer may have pruned it once it was empty
// (two runs of one partner share raw/<p>/.staging/): then there is nothing left in it to make
// durable, and the rename itself was made durable by the destination folder's fsync.
Status FsyncSourceFolder(const fs::path& dir) {
  Status st = FsyncPath(dir);
  if (st.code() == StatusCode::kNotFound) return Status::Ok();
  return st;
}

// Opens `rel` (a validated key) under `root` without following a symlink anywhere on the way
// (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a link planted in a partner's landing
// folder cannot point a read at another partner's data or outside the store. Falls back to
// O_NOFOLLOW on the last component on kernels without openat2. -1 with errno on failure.
int OpenBeneath(const fs::path& root, std::string_view rel, int flags) {
  static std::atomic<bool> has_openat2{true};
  if (has_openat2.load(std::memory_order_relaxed)) {
    int dir = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    std::string path(rel);
    long fd = ::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how);
    int err = errno;
    ::close(dir);
    if (fd >= 0 || err != ENOSYS) {
      errno = err;
      return static_cast<int>(fd);
    }
    has_openat2 = false;
  }
  return ::open((root / rel).c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
}

class LocalInputStream final : public InputStream {
 public:
  LocalInputStream(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  ~LocalInputStream() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      ssize_t got = ::read(fd_, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) return Errno(errno, "read", path_);
    }
  }

 private:
  int fd_;
  fs::path path_;
};

class LocalStore;

class LocalOutputStream final : public OutputStream {
 public:
  LocalOutputStream(const LocalStore* store, int fd, int dir_fd, fs::path dest, std::string base,
                    std::string named_temp)
      : store_(store),
        fd_(fd),
        dir_fd_(dir_fd),
        dest_(std::move(dest)),
        base_(std::move(base)),
        named_temp_(std::move(named_temp)) {
    buf_.reserve(kBufferSize);
  }
  ~LocalOutputStream() override {
    Abandon();
    ::close(dir_fd_);
  }
  LocalOutputStream(const LocalOutputStream&) = delete;
  LocalOutputStream& operator=(const LocalOutputStream&) = delete;

  Status Write(std::string_view data) override {
    if (fd_ < 0) return Status::Internal("write to " + dest_.string() + " after Commit()");
    if (buf_.size() + data.size() <= kBufferSize) {
      buf_.append(data);
      return Status::Ok();
    }
    SLUICE_RETURN_IF_ERROR(Flush());
    if (data.size() >= kBufferSize) return WriteAll(data);
    buf_.append(data);
    return Status::Ok();
  }

  Status Commit() override;

 private:
  static constexpr size_t kBufferSize = 256 * 1024;
  static constexpr off_t kWritebackEvery = off_t{8} << 20;

  Status Flush() {
    Status st = WriteAll(buf_);
    buf_.clear();
    return st;
  }
  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "write", dest_);
      }
      data.remove_prefix(static_cast<size_t>(n));
      written_ += n;
    }
    // Start writeback of what is written so far, without waiting, so the fsync at Commit() finds
    // little left to flush and disk I/O overlaps with producing the next bytes.
    if (written_ - synced_ >= kWritebackEvery) {
      ::sync_file_range(fd_, synced_, written_ - synced_, SYNC_FILE_RANGE_WRITE);
      synced_ = written_;
    }
    return Status::Ok();
  }
  void Abandon();

  const LocalStore* store_;
  int fd_;
  int dir_fd_;  // the destination folder, opened without following links
  fs::path dest_;
  std::string base_;        // file name of the destination inside dir_fd_
  std::string named_temp_;  // inside dir_fd_; empty while the file is an unnamed O_TMPFILE
  std::string buf_;
  off_t written_ = 0;
  off_t synced_ = 0;
};

class LocalStore final : public ObjectStore {
 public:
  explicit LocalStore(fs::path root) : root_(std::move(root)) {}

  Result<std::unique_ptr<InputStream>> Open(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    fs::path p = root_ / key;
    int fd = OpenBeneath(root_, key, O_RDONLY);
    if (fd < 0) {
      if (errno == ELOOP || errno == EXDEV) {
        return Status::PermissionDenied(
            "open " + p.string() + ": a symlink is on the path; the store never follows links");
      }
      return Errno(errno, "open", p);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::NotFound("open " + p.string() + ": not a regular file");
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<InputStream>(std::make_unique<LocalInputStream>(fd, p));
  }

  Result<std::unique_ptr<OutputStream>> Create(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    fs::path dest = root_ / key;
    fs::path dir = dest.parent_path();
    size_t slash = key.rfind('/');
    SLUICE_ASSIGN_OR_RETURN(
        int dir_fd, OpenFolder(slash == std::string_view::npos ? "" : key.substr(0, slash)));
    std::string base(slash == std::string_view::npos ? key : key.substr(slash + 1));
    struct stat st;
    if (::fstatat(dir_fd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      ::close(dir_fd);
      return Status::AlreadyExists("create " + dest.string() + ": a folder has that name");
    }
    // An unnamed file cannot be seen by anyone and vanishes if we are killed before Commit().
    int fd = ::openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    std::string named_temp;
    if (fd < 0) {
      if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        Status err = Errno(errno, "create temporary file in", dir);
        ::close(dir_fd);
        return err;
      }
      named_temp = TempName();
      fd = ::openat(dir_fd, named_temp.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0) {
        Status err = Errno(errno, "create", dir / named_temp);
        ::close(dir_fd);
        return err;
      }
    }
    return std::unique_ptr<OutputStream>(
        std::make_unique<LocalOutputStream>(this, fd, dir_fd, dest, base, named_temp));
  }

  // Opens (creating as needed) the folder `rel` under the root, one component at a time and
  // never through a symlink, so a link planted in the tree cannot redirect a write.
  Result<int> OpenFolder(std::string_view rel) const {
    int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno(errno, "open store folder", root_);
    if (rel.empty()) return fd;
    for (const std::string& seg : Split(rel, '/')) {
      int next = -1;
      int err = 0;
      // Another writer may prune an empty folder between our mkdirat and openat: try again.
      for (int attempt = 0; attempt < 3; ++attempt) {
        if (::mkdirat(fd, seg.c_str(), 0755) != 0 && errno != EEXIST) {
          Status st = Errno(errno, "create folder", root_ / rel);
          ::close(fd);
          return st;
        }
        next = ::openat(fd, seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        err = errno;
        if (next >= 0 || err != ENOENT) break;
      }
      ::close(fd);
      if (next < 0) {
        if (err == ELOOP || err == ENOTDIR) {
          return Status::PermissionDenied(
              "create folder " + (root_ / rel).string() + ": \"" + seg +
              "\" is a symlink or a file; the store never follows links");
        }
        return Errno(err, "open folder", root_ / rel);
      }
      fd = next;
    }
    return fd;
  }

  Result<ObjectInfo> Head(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    fs::path p = root_ / key;
    int fd = OpenBeneath(root_, key, O_PATH);
    if (fd < 0) {
      if (errno == ELOOP || errno == EXDEV) {
        return Status::PermissionDenied(
            "stat " + p.string() + ": a symlink is on the path; the store never follows links");
      }
      return Errno(errno, "stat", p);
    }
    struct stat st;
    int rc = ::fstat(fd, &st);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Errno(err, "stat", p);
    if (!S_ISREG(st.st_mode)) return Status::NotFound("stat " + p.string() + ": not a file");
    ObjectInfo info;
    info.key = std::string(key);
    info.size = st.st_size;
    info.mtime_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    return info;
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    // Walk the deepest folder the prefix names entirely, then filter by the string prefix.
    std::string_view dir_part =
        prefix.substr(0, prefix.rfind('/') == std::string_view::npos ? 0 : prefix.rfind('/') + 1);
    fs::path start = dir_part.empty() ? root_ : root_ / dir_part;
    std::vector<ObjectInfo> out;
    std::error_code ec;
    struct stat sst;
    if (::lstat(start.c_str(), &sst) != 0 || !S_ISDIR(sst.st_mode)) return out;
    fs::recursive_directory_iterator it(start, fs::directory_options::none, ec);
    if (ec) return Status::IoError("list " + start.string() + ": " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return Status::IoError("list " + start.string() + ": " + ec.message());
      std::string name = it->path().filename().string();
      if (StartsWith(name, kInternalPrefix)) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      struct stat st;
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      std::string key = it->path().lexically_relative(root_).generic_string();
      if (!StartsWith(key, prefix)) continue;
      ObjectInfo info;
      info.key = std::move(key);
      info.size = st.st_size;
      info.mtime_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
      out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Result<std::vector<std::string>> ListFolders(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    if (prefix.empty() || prefix.back() != '/') {
      return Status::InvalidArgument("ListFolders takes a folder prefix ending in \"/\"");
    }
    const std::string rel(prefix.substr(0, prefix.size() - 1));
    const fs::path dir = root_ / rel;
    int fd = OpenBeneath(root_, rel, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::vector<std::string>{};
      if (errno == ELOOP || errno == EXDEV) {
        return Status::PermissionDenied(
            "list " + dir.string() + ": a symlink is on the path; the store never follows links");
      }
      return Errno(errno, "open folder", dir);
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      Status err = Errno(errno, "list folder", dir);
      ::close(fd);
      return err;
    }
    std::vector<std::string> out;
    while (true) {
      errno = 0;
      struct dirent* ent = ::readdir(d);
      if (ent == nullptr) break;
      std::string_view name(ent->d_name);
      if (name == "." || name == ".." || StartsWith(name, kInternalPrefix)) continue;
      struct stat st;
      if (::fstatat(::dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) out.emplace_back(name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return Errno(err, "list folder", dir);
    std::sort(out.begin(), out.end());
    return out;
  }

  Status Delete(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    fs::path p = root_ / key;
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Errno(errno, "delete", p);
    PruneEmptyFolders(p.parent_path());
    return Status::Ok();
  }

  Status DeletePrefix(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    if (prefix.empty() || prefix.back() != '/') return ObjectStore::DeletePrefix(prefix);
    // A folder prefix: remove the folder whole, in-flight temporaries included.
    fs::path dir = root_ / prefix.substr(0, prefix.size() - 1);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) return Status::IoError("delete folder " + dir.string() + ": " + ec.message());
    PruneEmptyFolders(dir.parent_path());
    return Status::Ok();
  }

  Status PublishPrefix(std::string_view staging_prefix, std::string_view final_prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(staging_prefix));
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(final_prefix));
    if (staging_prefix.empty() || staging_prefix.back() != '/' || final_prefix.empty() ||
        final_prefix.back() != '/') {
      return Status::InvalidArgument("PublishPrefix takes two folder prefixes ending in \"/\"");
    }
    fs::path from = root_ / staging_prefix.substr(0, staging_prefix.size() - 1);
    fs::path to = root_ / final_prefix.substr(0, final_prefix.size() - 1);
    std::error_code ec;
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0) {
      // Nothing staged: the published set is empty.
      return DeletePrefix(final_prefix);
    }
    fs::create_directories(to.parent_path(), ec);
    if (ec)
      return Status::IoError("create folder " + to.parent_path().string() + ": " + ec.message());
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) == 0) {
      // `from` now holds the previous set.
      SLUICE_RETURN_IF_ERROR(FsyncPath(to.parent_path()));
      SLUICE_RETURN_IF_ERROR(FsyncSourceFolder(from.parent_path()));
      fs::remove_all(from, ec);
      if (ec) return Status::IoError("delete folder " + from.string() + ": " + ec.message());
    } else if (errno == ENOENT) {
      if (::rename(from.c_str(), to.c_str()) != 0) return Errno(errno, "rename to", to);
      SLUICE_RETURN_IF_ERROR(FsyncPath(to.parent_path()));
      SLUICE_RETURN_IF_ERROR(FsyncSourceFolder(from.parent_path()));
    } else {
      return Errno(errno, "publish " + from.string() + " as", to);
    }
    PruneEmptyFolders(from.parent_path());
    return Status::Ok();
  }

  bool AtomicPublish() const override { return true; }

  std::optional<fs::path> LocalPath(std::string_view key) const override {
    if (!ValidateKey(key).ok()) return std::nullopt;
    return root_ / key;
  }

  std::string Describe() const override { return "file://" + root_.string(); }

  // Removes `dir` and its parents while they are empty, stopping at the root.
  void PruneEmptyFolders(fs::path dir) const {
    while (dir != root_ && dir.string().size() > root_.string().size() &&
           StartsWith(dir.string(), root_.string())) {
      if (::rmdir(dir.c_str()) != 0) break;
      dir = dir.parent_path();
    }
  }

 private:
  fs::path root_;
};

Status LocalOutputStream::Commit() {
  if (fd_ < 0) return Status::Internal("Commit() twice on " + dest_.string());
  SLUICE_RETURN_IF_ERROR(Flush());
  if (::fsync(fd_) != 0) return Errno(errno, "fsync", dest_);
  if (named_temp_.empty()) {
    // Give the unnamed file a temporary name, then rename it over the destination (linkat cannot
    // replace an existing file).
    std::string temp = TempName();
    std::string proc = "/proc/self/fd/" + std::to_string(fd_);
    if (::linkat(AT_FDCWD, proc.c_str(), dir_fd_, temp.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      return Errno(errno, "link temporary file as", dest_.parent_path() / temp);
    }
    named_temp_ = temp;
  }
  ::close(fd_);
  fd_ = -1;
  if (::renameat(dir_fd_, named_temp_.c_str(), dir_fd_, base_.c_str()) != 0) {
    Status st = Errno(errno, "rename to", dest_);
    ::unlinkat(dir_fd_, named_temp_.c_str(), 0);
    named_temp_.clear();
    return st;
  }
  named_temp_.clear();
  if (::fsync(dir_fd_) != 0) return Errno(errno, "fsync folder", dest_.parent_path());
  return Status::Ok();
}

void LocalOutputStream::Abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    if (!named_temp_.empty()) ::unlinkat(dir_fd_, named_temp_.c_str(), 0);
    static_cast<const LocalStore*>(store_)->PruneEmptyFolders(dest_.parent_path());
  }
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenLocalStore(const fs::path& root) {
  if (root.is_relative()) {
    return Status::InvalidArgument("local store root " + root.string() + " must be absolute");
  }
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    return Status::IoError("create store folder " + root.string() + ": " + ec.message() +
                           "; check the store URL in sluice.yaml and the folder's permissions");
  }
  fs::path canonical = fs::weakly_canonical(root, ec);
  if (ec) canonical = root;
  return std::unique_ptr<ObjectStore>(std::make_unique<LocalStore>(canonical));
}

}  // namespace sluice::store
