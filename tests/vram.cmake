# The VRAM manager (unit, on simulated cards) and `orfeas gpu-stats`.
orfeas_add_c_test(test_vram ${CMAKE_CURRENT_SOURCE_DIR}/test_vram.c)

add_test(NAME gpu_stats COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_gpu_stats.sh $<TARGET_FILE:orfeas>)
set_tests_properties(gpu_stats PROPERTIES LABELS oracle TIMEOUT 120)
