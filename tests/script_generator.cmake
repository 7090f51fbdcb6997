# For the ctest scripts that configure another project (consumer, subproject, no_catch2):
# gen_args, the generator and build tool of the build running the tests (-DGENERATOR=...,
# -DMAKE_PROGRAM=...), to pass on to `cmake -S ... -B ...`.
set(gen_args)
if(GENERATOR)
  set(gen_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND gen_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
