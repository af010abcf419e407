# WebAssembly: one ES module (nitro.mjs) loading the core, split in two wasm files (see below).
# ENVIRONMENT is web,worker only: under Node, js/src/node.ts passes wasmBinary, so nitro.mjs holds no
# require()/__dirname code and bundles cleanly for browsers and edge workers.
file(GLOB NITRO_BINDING_SOURCES CONFIGURE_DEPENDS bindings/*.cpp)
add_executable(nitro_wasm ${NITRO_BINDING_SOURCES})
target_link_libraries(nitro_wasm PRIVATE nitro_core)
target_include_directories(nitro_wasm PRIVATE core/src)
set_target_properties(nitro_wasm PROPERTIES OUTPUT_NAME nitro SUFFIX ".mjs")
# C++ exceptions are caught inside the core (msgpack-c); -fwasm-exceptions makes that work.
set(NITRO_WASM_FLAGS -fwasm-exceptions)
target_compile_options(nitro_core PRIVATE ${NITRO_WASM_FLAGS})
target_compile_options(nitro_wasm PRIVATE ${NITRO_WASM_FLAGS})
target_link_options(nitro_wasm PRIVATE ${NITRO_WASM_FLAGS}
  --bind
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createNitroModule
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=33554432
  -sENVIRONMENT=web,worker
  -sFILESYSTEM=0 -sDYNAMIC_EXECUTION=0
  -sINCOMING_MODULE_JS_API=[wasmBinary,locateFile,instantiateWasm,print,printErr]
  -sEXPORTED_RUNTIME_METHODS=[]
  --profiling-funcs)  # names kept for the split below, which strips them

# The split rule: code whose source path matches NITRO_WASM_BLS_SOURCES (BLS12-381 with blst, and
# the protocols whose every message is BLS-signed: the drand beacon, consensus and the sync chain
# module it runs; access control, which a node attaches only when configured; presence; sealed
# identity exports (argon2); their bindings; and the simulator, which only the web demo runs in a
# page) goes to nitro-bls.wasm, loaded on first use (js/src/wasm.ts), with the library code only
# it reaches; everything else stays in nitro.wasm, which every page loads. A new module lands in
# nitro.wasm unless its path matches; one built on BLS should be added here (else the BLS code it
# calls stays in nitro.wasm too).
set(NITRO_WASM_BLS_SOURCES "^/(core/src/(bls|beacon|consensus|sync|sim|auth|presence)/|core/src/crypto/sealed_identity|bindings/(bls|beacon|consensus|sim|auth|presence|sealed)[^/]*$|.*/blst/)")
# Size over speed everywhere but the BLS code (whose speed is benchmarked against blst natively).
# In that size-optimized part, only the bindings (a JS exception from a user's value, a getter or a
# Proxy, unwinds through their frames and must run their destructors) and the two sources that
# include msgpack-c (whose parser throws; codec::decode catches it) are compiled with exceptions.
# The rest of the core calls no JS and catches nothing, so its unwinding code (about 8% of its
# code) is dead weight: what can throw there is a broken invariant (`.at()` of a key checked just
# before) or std::bad_alloc, fatal either way; it now aborts, or reaches JS without running the
# core's destructors.
set(NITRO_WASM_EXCEPTION_SOURCES "^/core/src/(codec/codec|rpc/frame)\\.cpp$")
get_target_property(NITRO_CORE_SOURCES_ALL nitro_core SOURCES)
foreach(src IN LISTS NITRO_CORE_SOURCES_ALL NITRO_BINDING_SOURCES)
  file(RELATIVE_PATH rel "${CMAKE_CURRENT_SOURCE_DIR}" "${src}")
  if(NOT "/${rel}" MATCHES "${NITRO_WASM_BLS_SOURCES}")
    set_property(SOURCE "${src}" APPEND PROPERTY COMPILE_OPTIONS -Oz)
    if("/${rel}" MATCHES "^/core/src/" AND NOT "/${rel}" MATCHES "${NITRO_WASM_EXCEPTION_SOURCES}")
      set_property(SOURCE "${src}" APPEND PROPERTY COMPILE_OPTIONS -fno-exceptions)
    endif()
  endif()
endforeach()
find_program(NITRO_LLVM_NM NAMES llvm-nm-14 llvm-nm REQUIRED)
find_program(NITRO_WASM_SPLIT wasm-split REQUIRED)  # Debian binaryen
find_program(NITRO_NODE node REQUIRED)
add_custom_command(TARGET nitro_wasm POST_BUILD
  COMMAND ${NITRO_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/wasm-split.mjs ${CMAKE_BINARY_DIR}
          ${NITRO_WASM_BLS_SOURCES} ${NITRO_LLVM_NM}
  BYPRODUCTS ${CMAKE_BINARY_DIR}/nitro-bls.wasm ${CMAKE_BINARY_DIR}/nitro-tables.mjs
  VERBATIM)
