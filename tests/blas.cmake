# OpenBLAS's kernels: the rule orfeas picks them by, the re-execution that
# applies it (through the binary), and the depth model's batching contract
# and golden outputs on the Prescott (SSE3) kernels too: what Debian's
# OpenBLAS falls back to on a CPU newer than itself, where batched GEMMs
# once rounded differently from single ones.
orfeas_add_c_test(test_blas ${CMAKE_CURRENT_SOURCE_DIR}/test_blas.c)
add_test(NAME blas_select COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_blas.sh $<TARGET_FILE:orfeas>)
set_tests_properties(blas_select PROPERTIES LABELS oracle TIMEOUT 300)
foreach(t test_nn_batch test_nn_depth)
  add_test(NAME ${t}_prescott COMMAND ${t})
  set_tests_properties(${t}_prescott PROPERTIES LABELS kernels TIMEOUT 900
                       ENVIRONMENT ORFEAS_BLAS_CORE=Prescott)
endforeach()
