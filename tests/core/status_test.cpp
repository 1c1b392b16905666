#include "core/status.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  SLUICE_ASSIGN_OR_RETURN(int half, Half(x));
  SLUICE_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  SLUICE_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(Status, OkByDefaultAndPrintsOk) {
  Status st;
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.ToString(), "ok");
}

TEST(Status, RendersFileLineAndContext) {
  Status st = Status::Corrupt("\"12,5\" is not a decimal(12,2)")
                  .WithFile("raw/acme/2026-11-24/orders.csv", 812)
                  .WithPartner("acme")
                  .WithTable("orders");
  EXPECT_EQ(st.ToString(),
            "raw/acme/2026-11-24/orders.csv:812: \"12,5\" is not a decimal(12,2) "
            "(partner acme, table orders)");
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
}

TEST(Status, InnermostContextWins) {
  Status st = Status::IoError("disk full").WithPartner("inner");
  st.WithPartner("outer").WithTask("extract");
  EXPECT_EQ(st.context().partner, "inner");
  EXPECT_EQ(st.context().task, "extract");
}

TEST(Status, TransientCodesAreRetryableAndTheRestAreNot) {
  EXPECT_TRUE(Status::Timeout("t").IsRetryable());
  EXPECT_TRUE(Status::Unavailable("u").IsRetryable());
  EXPECT_TRUE(Status::IoError("disk full").IsRetryable());
  EXPECT_TRUE(Status::NotFound("not delivered yet").IsRetryable());
  EXPECT_FALSE(Status::InvalidArgument("i").IsRetryable());
  EXPECT_FALSE(Status::Corrupt("c").IsRetryable());
  EXPECT_FALSE(Status::PermissionDenied("p").IsRetryable());
  EXPECT_FALSE(Status::AlreadyExists("a").IsRetryable());
  EXPECT_FALSE(Status::Cancelled("c").IsRetryable());
  EXPECT_FALSE(Status::Internal("bug").IsRetryable());
  EXPECT_FALSE(Status::Ok().IsRetryable());
}

TEST(Status, TheMemberAndTheFreeRetryPolicyAgreeOnEveryCode) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    const auto code = static_cast<StatusCode>(c);
    EXPECT_EQ(Status(code, "m").IsRetryable(), IsRetryable(code)) << StatusCodeName(code);
  }
}

TEST(Result, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "3 is odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), StatusCode::kInvalidArgument);
}

TEST(Result, FromOkStatusIsAnInternalError) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(Status, FromErrnoNamesTheError) {
  Status st = Status::FromErrno(ENOENT, "open data/x");
  EXPECT_EQ(st.message(), "open data/x: No such file or directory");
}

}  // namespace
}  // namespace sluice
