# ctest script: install descent into a scratch prefix, build the README's library example
# (extracted from README.md, so the README cannot drift) against it with
# find_package(descent CONFIG REQUIRED), and run it. That first consumer is configured the
# way a CPU-only user's machine looks: no nvcc on PATH, CUDACXX unset, and
# find_package(CUDAToolkit) disabled; its program must link no CUDA library. Then
# COMPONENTS cuda: found (and built, run) when descent has CUDA and the module is installed;
# a clear configure error when descent has no CUDA or the module is missing.
foreach(var DESCENT_SOURCE_DIR DESCENT_BINARY_DIR WORK_DIR WITH_CUDA CXX_COMPILER)
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

# The installed version header names the project's version; the license is installed too.
file(GLOB_RECURSE version_headers "${prefix}/*/descent/version.hpp")
if(NOT version_headers)
  message(FATAL_ERROR "no include/descent/version.hpp under ${prefix}")
endif()
list(GET version_headers 0 version_header)
file(READ "${version_header}" version_text)
if(DEFINED DESCENT_VERSION AND NOT version_text MATCHES "#define DESCENT_VERSION_STRING \"${DESCENT_VERSION}\"")
  message(FATAL_ERROR "${version_header} does not define DESCENT_VERSION_STRING \"${DESCENT_VERSION}\"")
endif()
file(GLOB_RECURSE license_files "${prefix}/*/doc/descent/LICENSE")
if(NOT license_files)
  message(FATAL_ERROR "LICENSE was not installed under ${prefix}/.../doc/descent")
endif()

# The README's example sits between these markers, in a ```cpp fence.
file(READ "${DESCENT_SOURCE_DIR}/README.md" readme)
string(REGEX MATCH "<!-- library-example:begin -->[^`]*```cpp\n(.*)```[^`]*<!-- library-example:end -->"
       found "${readme}")
if(NOT found)
  message(FATAL_ERROR "README.md has no ```cpp block between the library-example markers")
endif()
file(WRITE "${project_dir}/main.cpp" "${CMAKE_MATCH_1}")
configure_file("${DESCENT_SOURCE_DIR}/tests/consumer/CMakeLists.txt" "${project_dir}/CMakeLists.txt" COPYONLY)

include("${CMAKE_CURRENT_LIST_DIR}/../script_generator.cmake")  # gen_args

# The environment of a machine without the CUDA toolkit: PATH without any directory holding
# nvcc (the compiler and build tool are given by full path), no CUDA variables.
set(path_without_nvcc "")
string(REPLACE ":" ";" path_dirs "$ENV{PATH}")
foreach(dir IN LISTS path_dirs)
  if(dir AND NOT EXISTS "${dir}/nvcc")
    list(APPEND path_without_nvcc "${dir}")
  endif()
endforeach()
string(REPLACE ";" ":" path_without_nvcc "${path_without_nvcc}")
set(no_cuda_env ${CMAKE_COMMAND} -E env "PATH=${path_without_nvcc}" --unset=CUDACXX
    --unset=CUDA_PATH --unset=CUDA_HOME --unset=CUDAToolkit_ROOT --unset=CUDA_ROOT)
execute_process(COMMAND ${no_cuda_env} sh -c "command -v nvcc" RESULT_VARIABLE nvcc_rc OUTPUT_QUIET ERROR_QUIET)
if(nvcc_rc EQUAL 0)
  message(FATAL_ERROR "could not hide nvcc from PATH for the consumer test")
endif()

# configure(NAME ARGS...): configures the consumer project in build-NAME; sets configure_rc
# and configure_output instead of failing.
function(configure name)
  execute_process(COMMAND ${ARGN} -S "${project_dir}" -B "${project_dir}/build-${name}" ${gen_args}
                          -DCMAKE_BUILD_TYPE=${BUILD_TYPE} "-DCMAKE_PREFIX_PATH=${prefix}"
                          "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(configure_rc ${rc} PARENT_SCOPE)
  set(configure_output "${out}\n${err}" PARENT_SCOPE)
endfunction()

# build_and_run(NAME): builds build-NAME, runs its app, checks the output; sets app.
function(build_and_run name)
  run(${CMAKE_COMMAND} --build "${project_dir}/build-${name}" --config ${BUILD_TYPE})
  find_program(app_${name} NAMES app PATHS "${project_dir}/build-${name}"
               "${project_dir}/build-${name}/${BUILD_TYPE}" NO_DEFAULT_PATH NO_CACHE)
  run("${app_${name}}")
  message(STATUS "consumer (${name}) output:\n${last_output}")
  if(NOT last_output MATCHES "slope")
    message(FATAL_ERROR "the example (${name}) ran but did not print its result")
  endif()
  set(app "${app_${name}}" PARENT_SCOPE)
endfunction()

# 1. The library alone, on a machine without the CUDA toolkit.
configure(cpu ${no_cuda_env} ${CMAKE_COMMAND} -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON)
if(NOT configure_rc EQUAL 0)
  message(FATAL_ERROR "find_package(descent) failed without the CUDA toolkit:\n${configure_output}")
endif()
build_and_run(cpu)
# Its program links no CUDA library (the dynamic loader lists what it would load).
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_TRACE_LOADED_OBJECTS=1 "${app}"
                OUTPUT_VARIABLE needed ERROR_VARIABLE needed)
if(needed MATCHES "libcudart|libcublas|libcusolver")
  message(FATAL_ERROR "the CPU consumer links CUDA libraries:\n${needed}")
endif()

# 1b. The same example built with pkg-config's flags alone (no CMake on the consumer's side),
# where pkg-config is installed: descent.pc finds the installed library from where it lies.
find_program(pkg_config NAMES pkg-config pkgconf)
if(pkg_config)
  file(GLOB_RECURSE pc_files "${prefix}/*/pkgconfig/descent.pc")
  if(NOT pc_files)
    message(FATAL_ERROR "no pkgconfig/descent.pc installed under ${prefix}")
  endif()
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  foreach(query modversion flags)
    set(args --modversion)
    if(query STREQUAL "flags")
      set(args --cflags --libs)
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${pc_dir}" ${pkg_config}
                            ${args} descent
                    RESULT_VARIABLE rc OUTPUT_VARIABLE pc_${query} ERROR_VARIABLE pc_err
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "pkg-config ${args} descent failed (${rc}):\n${pc_${query}}\n${pc_err}")
    endif()
  endforeach()
  if(DEFINED DESCENT_VERSION AND NOT pc_modversion STREQUAL DESCENT_VERSION)
    message(FATAL_ERROR "pkg-config --modversion descent is '${pc_modversion}', not ${DESCENT_VERSION}")
  endif()
  set(pc_flags "${pc_flags}")
  separate_arguments(pc_args UNIX_COMMAND "${pc_flags}")
  run(${no_cuda_env} "${CXX_COMPILER}" "${project_dir}/main.cpp" -o "${project_dir}/app_pkgconfig" ${pc_args})
  run("${project_dir}/app_pkgconfig")
  if(NOT last_output MATCHES "slope")
    message(FATAL_ERROR "the example built with pkg-config ran but did not print its result")
  endif()
  message(STATUS "consumer (pkg-config): ${pc_flags}")
endif()

# 2. COMPONENTS cuda.
if(WITH_CUDA)
  configure(cuda ${CMAKE_COMMAND} -DDESCENT_COMPONENTS=cuda)
  if(NOT configure_rc EQUAL 0)
    message(FATAL_ERROR "find_package(descent COMPONENTS cuda) failed:\n${configure_output}")
  endif()
  build_and_run(cuda)
  # Without the module the component is missing, and says so.
  file(GLOB modules "${prefix}/lib*/libdescent_cuda.so" "${prefix}/lib*/*/libdescent_cuda.so")
  if(NOT modules)
    message(FATAL_ERROR "no libdescent_cuda.so installed under ${prefix}")
  endif()
  file(REMOVE ${modules})
  set(expected "libdescent_cuda.so is missing")
else()
  set(expected "built without CUDA")
endif()
configure(cuda-missing ${CMAKE_COMMAND} -DDESCENT_COMPONENTS=cuda)
# CMake wraps the message at a width, so where its lines break depends on the length of the
# install path: match with every run of white space as one space.
string(REGEX REPLACE "[ \t\r\n]+" " " configure_output_flat "${configure_output}")
if(configure_rc EQUAL 0 OR NOT configure_output_flat MATCHES "${expected}")
  message(FATAL_ERROR "find_package(descent COMPONENTS cuda) without the module: expected a "
                      "failure saying '${expected}', got (${configure_rc}):\n${configure_output}")
endif()
