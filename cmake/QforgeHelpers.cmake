# qforge_module(NAME SOURCES ... DEPS ...): one static library per module; DEPS is the layering rule.
function(qforge_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(qforge_${name} STATIC ${M_SOURCES})
  target_include_directories(qforge_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(qforge_${name} PUBLIC ${M_DEPS})
endfunction()

# qforge_test(NAME SOURCES ... DEPS ...): a GoogleTest executable registered with CTest.
# Tests see QFORGE_REPO_DIR and QFORGE_SHARED_DIR as string macros.
function(qforge_test name)
  if(NOT QFORGE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    QFORGE_REPO_DIR="${QFORGE_REPO_DIR}" QFORGE_SHARED_DIR="${QFORGE_SHARED_DIR}"
    QFORGE_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
endfunction()
