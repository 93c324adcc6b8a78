orfeas_add_c_test(test_mesh ${CMAKE_CURRENT_SOURCE_DIR}/test_mesh.c)
orfeas_add_c_test(test_core ${CMAKE_CURRENT_SOURCE_DIR}/test_core.c)
