# ctest script: configures tests/subproject (a parent that add_subdirectory()s descent) without
# a build type, and requires that the parent's build type is still unset afterwards.
foreach(var DESCENT_SOURCE_DIR WORK_DIR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_subproject.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
include("${CMAKE_CURRENT_LIST_DIR}/../script_generator.cmake")  # gen_args
execute_process(COMMAND ${CMAKE_COMMAND} -S "${DESCENT_SOURCE_DIR}/tests/subproject" -B "${WORK_DIR}"
                        ${gen_args} "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
                        "-DDESCENT_SOURCE_DIR=${DESCENT_SOURCE_DIR}" -DDESCENT_CUDA=OFF -DDESCENT_MPI=OFF
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the parent project failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "parent build type: ''")
  string(REGEX MATCH "parent build type: '[^']*'" seen "${out}")
  message(FATAL_ERROR "descent changed its parent's build type (${seen}; expected it unset)")
endif()
message(STATUS "the parent's build type is untouched")
