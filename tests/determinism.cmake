# The determinism contract (docs/depth.md) end to end: batched depth passes
# on a real server give the bytes a lone request gets on a fresh one.
add_test(NAME determinism COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_determinism.sh
         $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(determinism PROPERTIES LABELS oracle TIMEOUT 600)
