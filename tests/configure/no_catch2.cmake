# ctest script: descent configured as a new user would on a machine without Catch2 (simulated
# with CMAKE_DISABLE_FIND_PACKAGE_Catch2): the configure succeeds with the tests off and one
# message saying so; with -DDESCENT_BUILD_TESTS=ON it fails instead.
foreach(var DESCENT_SOURCE_DIR WORK_DIR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "no_catch2.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
include("${CMAKE_CURRENT_LIST_DIR}/../script_generator.cmake")  # gen_args
function(configure dir)
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${DESCENT_SOURCE_DIR}" -B "${WORK_DIR}/${dir}" ${gen_args}
                          "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DDESCENT_CUDA=OFF -DDESCENT_MPI=OFF
                          -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(configure_rc ${rc} PARENT_SCOPE)
  set(configure_output "${out}\n${err}" PARENT_SCOPE)
endfunction()

configure(default)
if(NOT configure_rc EQUAL 0)
  message(FATAL_ERROR "without Catch2 the default configure failed:\n${configure_output}")
endif()
string(REGEX MATCHALL "Catch2 2.x not found, so the tests are off" said "${configure_output}")
list(LENGTH said times)
if(NOT times EQUAL 1)
  message(FATAL_ERROR "expected the tests-off message once, saw it ${times} times:\n${configure_output}")
endif()
file(STRINGS "${WORK_DIR}/default/CMakeCache.txt" tests_option REGEX "^DESCENT_BUILD_TESTS:")
if(NOT tests_option MATCHES "=OFF$")
  message(FATAL_ERROR "the tests were not switched off: ${tests_option}")
endif()

configure(asked -DDESCENT_BUILD_TESTS=ON)
if(configure_rc EQUAL 0)
  message(FATAL_ERROR "-DDESCENT_BUILD_TESTS=ON without Catch2 configured anyway")
endif()
if(NOT configure_output MATCHES "Catch2")
  message(FATAL_ERROR "the failure does not name Catch2:\n${configure_output}")
endif()
message(STATUS "without Catch2: tests off with one message; asked for, a clear failure")
