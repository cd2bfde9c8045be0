# Helpers shared by lib/, apps/, tests/ and bench/.

function(voxseg_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(VOXSEG_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# voxseg_add_module(<name> SOURCES ... [DEPENDS ...] [TORCH_PCH])
# One static library per module (voxseg_<name>, alias voxseg::<name>), so a module and its
# tests build without the rest of the tree; TORCH_PCH reuses the shared <torch/torch.h> PCH.
function(voxseg_add_module name)
  cmake_parse_arguments(M "TORCH_PCH" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(voxseg_${name} STATIC ${M_SOURCES})
  add_library(voxseg::${name} ALIAS voxseg_${name})
  target_include_directories(voxseg_${name} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
  target_link_libraries(voxseg_${name} PUBLIC ${M_DEPENDS})
  voxseg_set_warnings(voxseg_${name})
  if(M_TORCH_PCH)
    target_precompile_headers(voxseg_${name} REUSE_FROM voxseg_torch_pch)
  endif()
endfunction()

# voxseg_add_app(<verb> [DEPENDS ...]): apps/voxseg-<verb>.cpp -> bin/voxseg-<verb>, installed to bin/,
# part of the `voxseg_programs` target (every program, no tests: `cmake --build build --target voxseg_programs`).
function(voxseg_add_app verb)
  cmake_parse_arguments(A "" "" "DEPENDS" ${ARGN})
  add_executable(voxseg-${verb} voxseg-${verb}.cpp)
  target_link_libraries(voxseg-${verb} PRIVATE voxseg::cli ${A_DEPENDS})
  voxseg_set_warnings(voxseg-${verb})
  install(TARGETS voxseg-${verb} RUNTIME DESTINATION bin)
  add_dependencies(voxseg_programs voxseg-${verb})
endfunction()

# voxseg_add_unit_test(<module> SOURCES ... [DEPENDS ...] [TORCH_PCH])
function(voxseg_add_unit_test module)
  cmake_parse_arguments(T "TORCH_PCH" "" "SOURCES;DEPENDS" ${ARGN})
  add_executable(voxseg_${module}_test ${T_SOURCES})
  target_link_libraries(voxseg_${module}_test PRIVATE voxseg::${module} ${T_DEPENDS} GTest::gtest_main)
  target_compile_definitions(voxseg_${module}_test PRIVATE
    VOXSEG_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    VOXSEG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  voxseg_set_warnings(voxseg_${module}_test)
  if(T_TORCH_PCH)
    target_precompile_headers(voxseg_${module}_test REUSE_FROM voxseg_torch_pch)
  endif()
  voxseg_add_gtest_suites(voxseg_${module}_test ${module})
endfunction()

# voxseg_add_gtest_suites(<target> <module>): after each build of <target>, one ctest entry per
# GoogleTest suite, `<module>.<Suite>`, labelled unit;<module> (cmake/VoxsegGTestSuites.cmake).
# Like gtest_discover_tests in POST_BUILD mode, but one process per suite rather than per case.
function(voxseg_add_gtest_suites target module)
  set(tests_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake)
  set(include_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    BYPRODUCTS ${tests_file}
    COMMAND ${CMAKE_COMMAND} -D TEST_EXECUTABLE=$<TARGET_FILE:${target}> -D MODULE=${module}
            -D RUNNER=${PROJECT_SOURCE_DIR}/tests/tools/run_gtest_suite.sh -D CTEST_FILE=${tests_file}
            -D TIMEOUT=60 -D WORKING_DIR=${CMAKE_CURRENT_BINARY_DIR}
            -P ${PROJECT_SOURCE_DIR}/cmake/VoxsegGTestSuites.cmake
    VERBATIM)
  file(WRITE ${include_file}
    "if(EXISTS \"${tests_file}\")\n  include(\"${tests_file}\")\n"
    "else()\n  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()

# voxseg_add_bench(<name> <module> [TORCH_PCH]): bench/<name>.cpp linked to voxseg::<module>,
# built only when that module exists; never part of ctest.
function(voxseg_add_bench name module)
  cmake_parse_arguments(B "TORCH_PCH" "" "" ${ARGN})
  if(NOT TARGET voxseg_${module})
    return()
  endif()
  add_executable(${name} ${name}.cpp)
  target_link_libraries(${name} PRIVATE voxseg::${module})
  voxseg_set_warnings(${name})
  if(B_TORCH_PCH)
    target_precompile_headers(${name} REUSE_FROM voxseg_torch_pch)
  endif()
endfunction()
