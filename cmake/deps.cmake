# Dependencies, found where scripts/setup installed or built them. Nothing is vendored.

# msgpack-cxx (Debian libmsgpack-cxx-dev, header-only). For wasm we point at a copy of only the
# msgpack headers: adding /usr/include would drag glibc headers into the emscripten build.
add_library(nitro_msgpack INTERFACE)
target_compile_definitions(nitro_msgpack INTERFACE MSGPACK_NO_BOOST MSGPACK_DEFAULT_API_VERSION=3)
if(EMSCRIPTEN)
  set(msgpack_copy "${CMAKE_BINARY_DIR}/msgpack-include")
  if(NOT EXISTS "${msgpack_copy}/msgpack.hpp")
    file(COPY /usr/include/msgpack.hpp /usr/include/msgpack DESTINATION "${msgpack_copy}")
  endif()
  target_include_directories(nitro_msgpack SYSTEM INTERFACE "${msgpack_copy}")
endif()

# libsodium: Debian's libsodium-dev natively; the wasm build from Debian's source package.
add_library(nitro_sodium INTERFACE)
if(EMSCRIPTEN)
  set(sodium_wasm "${NITRO_DEPS_DIR}/libsodium-wasm")
  if(NOT EXISTS "${sodium_wasm}/lib/libsodium.a")
    message(FATAL_ERROR "libsodium for wasm not found in ${sodium_wasm}: run scripts/setup")
  endif()
  target_include_directories(nitro_sodium SYSTEM INTERFACE "${sodium_wasm}/include")
  target_link_libraries(nitro_sodium INTERFACE "${sodium_wasm}/lib/libsodium.a")
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
  target_link_libraries(nitro_sodium INTERFACE PkgConfig::SODIUM)
endif()

# blst: C sources from the npm package @chainsafe/blst (fetched by scripts/setup).
set(blst_dir "${NITRO_DEPS_DIR}/blst")
if(NOT EXISTS "${blst_dir}/src/server.c")
  message(FATAL_ERROR "blst sources not found in ${blst_dir}: run scripts/setup")
endif()
if(EMSCRIPTEN)
  # blst's portable C build (no assembly in wasm), through our unity TU: the same sources in
  # server.c's order, with the hot field arithmetic routed to core/src/bls/fp384.h (see the
  # comments there and in blst_wasm.c). The former `-mllvm -inline-threshold=700` (it specialised
  # no_asm.h's generic mul_mont_n) no longer changes the speed and only grew the module.
  add_library(nitro_blst STATIC "${CMAKE_CURRENT_SOURCE_DIR}/core/src/bls/blst_wasm.c")
  target_compile_definitions(nitro_blst PRIVATE __BLST_NO_ASM__)
  target_include_directories(nitro_blst PRIVATE "${blst_dir}/src" "${CMAKE_CURRENT_SOURCE_DIR}/core/src")
else()
  add_library(nitro_blst STATIC "${blst_dir}/src/server.c" "${blst_dir}/build/assembly.S")
endif()
target_compile_options(nitro_blst PRIVATE -O3 -fno-builtin -Wno-unused-function -Wno-unused-command-line-argument)
target_include_directories(nitro_blst SYSTEM PUBLIC "${blst_dir}/bindings")
