// Two kinds of error (DESIGN.md §3.6):
//  * bad input (a file, a flag, a recipe) -> throw qforge::Error with a message that says where, what was
//    wrong, what was expected and, where useful, the likely cause. Release builds validate like debug builds.
//  * programmer bugs (violated invariants) -> QF_CHECK, which prints file:line and aborts.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace qforge {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws qforge::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

namespace detail {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& msg);
}  // namespace detail

}  // namespace qforge

// QF_CHECK(cond) / QF_CHECK_MSG(cond, fmt, args...): invariant checks that stay on in release builds.
#define QF_CHECK(cond)                                                     \
  do {                                                                     \
    if (!(cond)) ::qforge::detail::CheckFailed(__FILE__, __LINE__, #cond, {}); \
  } while (0)
#define QF_CHECK_MSG(cond, ...)                                                                  \
  do {                                                                                           \
    if (!(cond)) ::qforge::detail::CheckFailed(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)
