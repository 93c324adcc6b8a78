# The depth network on CUDA (src/nn/cuda) against the CPU forward pass and
# the golden files. Without a CUDA device, or in a build without CUDA, it
# exits 77 and ctest reports it as skipped, never as passed.
# tests/gpu/run.sh runs it on a machine with a GPU.
orfeas_add_c_test(test_nn_cuda ${CMAKE_CURRENT_SOURCE_DIR}/test_nn_cuda.c)
set_tests_properties(test_nn_cuda PROPERTIES TIMEOUT 300)
