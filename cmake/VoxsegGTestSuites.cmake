# Run after a unit-test binary is built (cmake -P): lists its GoogleTest suites and writes one ctest
# entry per suite (`<module>.<Suite>`, --gtest_filter=<Suite>.*). One process per suite instead of
# one per test case: each process start loads LibTorch (~0.4 s), which dominated the suite's time.
# gtest names every failing case in the output (ctest --output-on-failure shows it).
# Inputs: TEST_EXECUTABLE, MODULE, RUNNER (tests/tools/run_gtest_suite.sh), CTEST_FILE, TIMEOUT, WORKING_DIR.
execute_process(COMMAND "${TEST_EXECUTABLE}" --gtest_list_tests
                WORKING_DIRECTORY "${WORKING_DIR}"
                TIMEOUT ${TIMEOUT}
                OUTPUT_VARIABLE listing ERROR_VARIABLE errors RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(REMOVE "${CTEST_FILE}")
  message(FATAL_ERROR "${TEST_EXECUTABLE} --gtest_list_tests failed (${result}):\n${listing}\n${errors}")
endif()

string(REPLACE ";" "\\;" listing "${listing}")
string(REPLACE "\n" ";" lines "${listing}")
set(script "")
set(suites 0)
foreach(line IN LISTS lines)
  # Suite lines start in column 0 and end with '.' (a '  # TypeParam = ...' comment may follow).
  if(line MATCHES "^([^ #][^ ]*)\\.( *#.*)?$")
    set(suite "${CMAKE_MATCH_1}")
    set(name "${MODULE}.${suite}")
    string(APPEND script
      "add_test([==[${name}]==] bash [==[${RUNNER}]==] [==[${TEST_EXECUTABLE}]==] [==[--gtest_filter=${suite}.*]==])\n"
      "set_tests_properties([==[${name}]==] PROPERTIES LABELS [==[unit;${MODULE}]==] SKIP_RETURN_CODE 77"
      " WORKING_DIRECTORY [==[${WORKING_DIR}]==])\n")
    math(EXPR suites "${suites} + 1")
  endif()
endforeach()
if(suites EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE}: no GoogleTest suites listed")
endif()
file(WRITE "${CTEST_FILE}" "${script}")
