# Prometheus metrics: exact exposition lines (unit) and promtool's verdict on
# a rendered sample (oracle).
orfeas_add_c_test(test_metrics ${CMAKE_CURRENT_SOURCE_DIR}/test_metrics.c)

add_test(NAME metrics_promtool
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_metrics_promtool.sh $<TARGET_FILE:test_metrics>)
set_tests_properties(metrics_promtool PROPERTIES LABELS oracle TIMEOUT 60)
