# The neural runtime (src/nn): safetensors, the seeded weight generator, the
# Depth Anything V2 forward pass against the official code's golden outputs.
# (src/nn's per-file compile options are set in the top CMakeLists.txt.)
orfeas_add_c_test(test_nn_safetensors ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_safetensors.c)
orfeas_add_c_test(test_nn_weights ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_weights.c)
target_link_libraries(test_nn_weights PRIVATE PkgConfig::SSL PkgConfig::CJSON)
orfeas_add_c_test(test_nn_depth ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_depth.c)
set_tests_properties(test_nn_depth PROPERTIES TIMEOUT 300)
# Precisions and pruning against fp32, the weights' safetensors round trip and
# the CLI's conformance entry point (given the orfeas binary).
add_executable(test_nn_precision ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_precision.c
               ${CMAKE_CURRENT_SOURCE_DIR}/testutil.c)
target_include_directories(test_nn_precision PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_nn_precision PRIVATE orfeas_lib orfeas_testdata)
add_dependencies(test_nn_precision orfeas)
add_test(NAME test_nn_precision COMMAND test_nn_precision $<TARGET_FILE:orfeas>)
set_tests_properties(test_nn_precision PROPERTIES TIMEOUT 300 LABELS unit)
orfeas_add_c_test(test_nn_ops ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_ops.c)
# The forward pass's memory estimate against its measured peak, batched
# passes bit-for-bit against single ones, and the batcher under threads.
orfeas_add_c_test(test_nn_batch ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_batch.c)
set_tests_properties(test_nn_batch PROPERTIES TIMEOUT 600)
# `serve --depth-model`: --depth-precision, the resident reservation, the
# model id in cache keys and batching, on an in-process server.
orfeas_add_c_test(test_nn_serve ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_serve.c)
target_link_libraries(test_nn_serve PRIVATE PkgConfig::MHD)
