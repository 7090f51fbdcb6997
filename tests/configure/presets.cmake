# ctest script: CMakePresets.json parses and offers the configure, build and test presets
# release, debug, cpu-only and sanitize.
foreach(kind configure build test)
  execute_process(COMMAND ${CMAKE_COMMAND} --list-presets=${kind}
                  WORKING_DIRECTORY "${DESCENT_SOURCE_DIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --list-presets=${kind} failed (${rc}):\n${out}\n${err}")
  endif()
  foreach(name release debug cpu-only sanitize)
    if(NOT out MATCHES "\"${name}\"")
      message(FATAL_ERROR "no ${kind} preset '${name}' in CMakePresets.json:\n${out}")
    endif()
  endforeach()
endforeach()
message(STATUS "presets: release, debug, cpu-only, sanitize")
