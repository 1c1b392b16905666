// tests/tasks/extract_test_support.h: a pipeline fixture for extract and sensor tests, a store
// wrapper that records every key touched (and can stop the process mid-extract), and a
// snapshot of a folder tree for before/after comparisons.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "store/object_store.h"
#include "tasks/task_context.h"
#include "testing/pipeline_fixture.h"
#include "testing/temp_dir.h"

namespace sluice::testing {

// Every path under `root` (folders too) mapped to its content ("<dir>", "<symlink -> t>").
inline std::map<std::string, std::string> Snapshot(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> out;
  if (!fs::exists(root)) return out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = it->path().lexically_relative(root).generic_string();
    if (it->is_symlink()) {
      out[rel] = "<symlink -> " + fs::read_symlink(it->path()).string() + ">";
    } else if (it->is_directory()) {
      out[rel] = "<dir>";
    } else {
      out[rel] = ReadFile(it->path());
    }
  }
  return out;
}

// Forwards to a real store and records every key or prefix it is asked about. `on_commit` runs
// after each committed object (the SIGKILL test parks the process there).
class SpyStore final : public store::ObjectStore {
 public:
  explicit SpyStore(store::ObjectStore* inner) : inner_(inner) {}
  std::vector<std::string> touched;
  std::function<void(const std::string& key)> on_commit;
  // What AtomicPublish() answers; the inner store's answer when unset. false makes a local
  // store behave as S3 does for its writers.
  std::optional<bool> atomic_publish;

  Result<std::unique_ptr<store::InputStream>> Open(std::string_view key) override {
    touched.emplace_back(key);
    return inner_->Open(key);
  }
  Result<std::unique_ptr<store::OutputStream>> Create(std::string_view key) override {
    touched.emplace_back(key);
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<store::OutputStream> out, inner_->Create(key));
    return std::unique_ptr<store::OutputStream>(
        std::make_unique<Out>(std::move(out), std::string(key), this));
  }
  Result<store::ObjectInfo> Head(std::string_view key) override {
    touched.emplace_back(key);
    return inner_->Head(key);
  }
  Result<std::vector<store::ObjectInfo>> List(std::string_view prefix) override {
    touched.emplace_back(prefix);
    return inner_->List(prefix);
  }
  Result<std::vector<std::string>> ListFolders(std::string_view prefix) override {
    touched.emplace_back(prefix);
    return inner_->ListFolders(prefix);
  }
  Status Delete(std::string_view key) override {
    touched.emplace_back(key);
    return inner_->Delete(key);
  }
  Status DeletePrefix(std::string_view prefix) override {
    touched.emplace_back(prefix);
    return inner_->DeletePrefix(prefix);
  }
  Status PublishPrefix(std::string_view from, std::string_view to) override {
    touched.emplace_back(from);
    touched.emplace_back(to);
    return inner_->PublishPrefix(from, to);
  }
  bool AtomicPublish() const override { return atomic_publish.value_or(inner_->AtomicPublish()); }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  class Out final : public store::OutputStream {
   public:
    Out(std::unique_ptr<store::OutputStream> inner, std::string key, SpyStore* spy)
        : inner_(std::move(inner)), key_(std::move(key)), spy_(spy) {}
    Status Write(std::string_view data) override { return inner_->Write(data); }
    Status Commit() override {
      SLUICE_RETURN_IF_ERROR(inner_->Commit());
      if (spy_->on_commit) spy_->on_commit(key_);
      return Status::Ok();
    }

   private:
    std::unique_ptr<store::OutputStream> inner_;
    std::string key_;
    SpyStore* spy_;
  };
  store::ObjectStore* inner_;
};

// A pipeline folder (partners acme and globex, store under ./area/data) and task contexts on it.
class PipelineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteSamplePipeline(dir_);
    std::string yaml = kSluiceYaml;
    yaml.replace(yaml.find("file://./data"), 13, "file://./area/data");
    dir_.Write("sluice.yaml", yaml);
    Load();
  }
  void Load() {
    auto p = config::LoadPipeline(dir_.path());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pipeline_ = std::move(p).value();
  }
  std::filesystem::path StoreRoot() const { return dir_ / "area/data"; }
  std::unique_ptr<store::ObjectStore> OpenTheStore() {
    auto s = store::OpenStore(pipeline_.settings.store, pipeline_.dir);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  tasks::TaskContext Ctx(const std::string& partner, const std::string& task_key) {
    tasks::TaskContext ctx;
    ctx.pipeline = &pipeline_;
    ctx.task = pipeline_.workflow.Find(task_key);
    EXPECT_NE(ctx.task, nullptr) << task_key;
    ctx.run_id = "run-20261124-1";
    ctx.date = Date{2026, 11, 24};
    ctx.partner = partner;
    return ctx;
  }
  // Puts `bytes` where the partner's archive for 2026-11-24 is expected.
  std::filesystem::path Land(const std::string& partner, const std::string& bytes) {
    return dir_.Write(
        "area/data/landing/" + partner + "/2026-11-24/" + partner + "_20261124.tar.gz", bytes);
  }
  // Writes the partner's completion marker (the sample partners' rule) for 2026-11-24.
  void MarkComplete(const std::string& partner) {
    dir_.Write("area/data/landing/" + partner + "/2026-11-24/_SUCCESS", "");
  }
  // A complete delivery: the archive, then its marker.
  std::filesystem::path LandComplete(const std::string& partner, const std::string& bytes) {
    std::filesystem::path archive = Land(partner, bytes);
    MarkComplete(partner);
    return archive;
  }

  TempDir dir_;
  config::Pipeline pipeline_;
};

}  // namespace sluice::testing
