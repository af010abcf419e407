# WebAssembly: one ES module (nitro.js + nitro.wasm) holding the core and every embind binding.
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
  -sEXPORTED_RUNTIME_METHODS=[])
