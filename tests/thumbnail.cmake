# Thumbnail renderer.
orfeas_add_c_test(test_thumbnail ${CMAKE_CURRENT_SOURCE_DIR}/test_thumbnail.c)
