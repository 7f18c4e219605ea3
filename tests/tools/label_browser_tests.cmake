# Read by ctest right after report_page_test's discovered tests (tests/tools/CMakeLists.txt): labels
# them fast and browser, a list that gtest_discover_tests' PROPERTIES would split into two properties.
if(report_page_test_TESTS)
  set_tests_properties(${report_page_test_TESTS} PROPERTIES LABELS "fast;browser")
endif()
