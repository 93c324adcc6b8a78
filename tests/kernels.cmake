# Kernel conformance: every backend's kernel table against the cpu reference.
orfeas_add_c_test(test_kernels ${CMAKE_CURRENT_SOURCE_DIR}/test_kernels.c)
