// The store interface suite's fixture, shared by every test file that instantiates it
// (store_conformance_test.cpp for the local, in-memory and fault-wrapper back-ends,
// s3_store_test.cpp for S3 against a live endpoint).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/object_store.h"
#include "testing/temp_dir.h"

namespace sluice::store::conformance {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<ObjectStore>(const testing::TempDir&)> open;
  // Whether the back-end takes 255-byte key segments. s3rver, the S3 test endpoint, keeps each
  // object in a file named after its key plus a suffix, so it cannot (S3 itself can).
  bool long_segments = true;
};

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = GetParam().open(dir_);
    ASSERT_NE(store_, nullptr);
  }
  std::vector<std::string> Keys(std::string_view prefix = "") {
    auto r = store_->List(prefix);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> keys;
    if (r.ok()) {
      for (const auto& o : *r) keys.push_back(o.key);
    }
    return keys;
  }
  testing::TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace sluice::store::conformance
