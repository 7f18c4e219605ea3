// Status and Result: a Result holds a value or an error, never neither.
#include "onnxq/status.h"

#include <gtest/gtest.h>

#include <string>

namespace onnxq {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> QuarterOf(int x) {
  ONNXQ_ASSIGN_OR_RETURN(const int half, Half(x));
  return Half(half);
}

TEST(ResultTest, HoldsAValueOrTheErrorThatExplainsItsAbsence) {
  ASSERT_TRUE(QuarterOf(12).ok());
  EXPECT_EQ(*QuarterOf(12), 3);
  const auto odd = QuarterOf(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(odd.status().message(), "3 is odd");
}

TEST(ResultTest, AnOkStatusWithoutAValueBecomesAnInternalError) {
  const Result<int> made = Status::Ok();
  EXPECT_FALSE(made.ok());
  EXPECT_FALSE(made.status().ok());
  EXPECT_EQ(made.status().code(), StatusCode::kInternal);
  // So a caller passing it on never reports success with nothing.
  const auto pass_on = [&]() -> Status { return made.status(); };
  EXPECT_FALSE(pass_on().ok());
}

TEST(StatusTest, ACancelledRunIsAnErrorOfItsOwnCode) {
  // What a host's reader returns when its user asks to stop (Ctrl-C in Python): not a failure of the
  // data or the model, so a front end can tell it apart.
  const Status stopped = Cancelled("interrupted (Ctrl-C)");
  EXPECT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.code(), StatusCode::kCancelled);
  EXPECT_EQ(stopped.ToString(), "interrupted (Ctrl-C)");
}

TEST(ResultDeathTest, ReadingTheValueOfAnErrorEndsTheProcessWithItsMessage) {
  const Result<std::string> failed = NotFound("no such tensor 'x'");
  EXPECT_DEATH((void)failed.value(), "value of a failed Result was read: no such tensor 'x'");
}

}  // namespace
}  // namespace onnxq
