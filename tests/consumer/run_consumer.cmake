# ctest script: install descent into a scratch prefix, build the README's library example
# (extracted from README.md, so the README cannot drift) against it with
# find_package(descent CONFIG REQUIRED), and run it.
foreach(var DESCENT_SOURCE_DIR DESCENT_BINARY_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake needs -D${var}=...")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(project_dir "${WORK_DIR}/project")
file(MAKE_DIRECTORY "${project_dir}")

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install "${DESCENT_BINARY_DIR}" --prefix "${prefix}" --config ${BUILD_TYPE})

# The README's example sits between these markers, in a ```cpp fence.
file(READ "${DESCENT_SOURCE_DIR}/README.md" readme)
string(REGEX MATCH "<!-- library-example:begin -->[^`]*```cpp\n(.*)```[^`]*<!-- library-example:end -->"
       found "${readme}")
if(NOT found)
  message(FATAL_ERROR "README.md has no ```cpp block between the library-example markers")
endif()
file(WRITE "${project_dir}/main.cpp" "${CMAKE_MATCH_1}")
configure_file("${DESCENT_SOURCE_DIR}/tests/consumer/CMakeLists.txt" "${project_dir}/CMakeLists.txt" COPYONLY)

set(gen_args)
if(GENERATOR)
  set(gen_args -G "${GENERATOR}")
endif()
run(${CMAKE_COMMAND} -S "${project_dir}" -B "${project_dir}/build" ${gen_args}
    -DCMAKE_BUILD_TYPE=${BUILD_TYPE} "-DCMAKE_PREFIX_PATH=${prefix}")
run(${CMAKE_COMMAND} --build "${project_dir}/build" --config ${BUILD_TYPE})
find_program(app NAMES app PATHS "${project_dir}/build" "${project_dir}/build/${BUILD_TYPE}" NO_DEFAULT_PATH)
run("${app}")
message(STATUS "consumer output:\n${last_output}")
if(NOT last_output MATCHES "slope")
  message(FATAL_ERROR "the example ran but did not print its result")
endif()
