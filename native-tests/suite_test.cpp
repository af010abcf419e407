// The suite checks itself: ctest's Catch2 discovery splits a test name at ';' and the pieces then
// match no test, so such a TEST_CASE would silently never run under ctest.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <string>

#include "test_util.h"

TEST_CASE("suite: no test case name contains a semicolon (ctest would skip it)", "[suite]") {
  const std::regex name(R"re(TEST_CASE\("([^"]*)")re");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(nitro::test::source_path("native-tests"))) {
    if (entry.path().extension() != ".cpp") continue;
    ++files;
    const std::string text = nitro::test::read_file(entry.path().string());
    for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) {
      INFO(entry.path().filename().string() << ": " << (*it)[1].str());
      CHECK((*it)[1].str().find(';') == std::string::npos);
    }
  }
  CHECK(files > 5);
}
