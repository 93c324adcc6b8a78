# Foreground segmentation (src/shape/segment.c, gmm.c, maxflow.c, mask_ops.c).
orfeas_add_c_test(test_segment ${CMAKE_CURRENT_SOURCE_DIR}/test_segment.c)
