# Native: the Catch2 suite (one executable, each TEST_CASE registered with ctest) and fuzzers.
enable_testing()
find_package(Catch2 REQUIRED)
include(Catch)

if(NOT NITRO_FUZZ)  # the fuzz build holds fuzz targets only
  file(GLOB NITRO_TEST_SOURCES CONFIGURE_DEPENDS native-tests/*.cpp)
  add_executable(nitro_tests ${NITRO_TEST_SOURCES})
  target_link_libraries(nitro_tests PRIVATE nitro_core Catch2::Catch2)
  target_include_directories(nitro_tests PRIVATE core/src native-tests)
  target_compile_definitions(nitro_tests PRIVATE NITRO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                                                 NITRO_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
  # Test cases tagged [slow] get the ctest label "slow" (skipped under ASan by scripts/test).
  catch_discover_tests(nitro_tests TEST_SPEC "~[slow]")
  catch_discover_tests(nitro_tests TEST_SPEC "[slow]" TEST_PREFIX "slow:" PROPERTIES LABELS slow)
endif()

# Fuzz regression: every fuzz target's kept corpus replays under the normal (or ASan) build.
file(GLOB NITRO_FUZZ_SOURCES CONFIGURE_DEPENDS native-tests/fuzz/*_fuzz.cpp)
foreach(src ${NITRO_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "_fuzz$" "" target ${name})
  if(NITRO_FUZZ)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${name} ${src} native-tests/fuzz/replay_main.cpp)
    add_test(NAME fuzz_corpus_${target}
             COMMAND ${name} ${CMAKE_SOURCE_DIR}/native-tests/fuzz/corpus/${target})
  endif()
  target_link_libraries(${name} PRIVATE nitro_core)
  target_include_directories(${name} PRIVATE core/src)
endforeach()

# Native benchmark programs (bench/native/<name>_bench.cpp -> build/native/<name>_bench), spawned by
# bench/<name>.mjs so native, wasm and JS peers print side by side in one run.
if(NOT NITRO_FUZZ)
file(GLOB NITRO_BENCH_SOURCES CONFIGURE_DEPENDS bench/native/*_bench.cpp)
foreach(src ${NITRO_BENCH_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE nitro_core)
  target_include_directories(${name} PRIVATE core/src)
  target_compile_definitions(${name} PRIVATE NITRO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                                             NITRO_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
endforeach()
endif()
