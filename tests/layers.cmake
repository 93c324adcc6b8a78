# The layering rule (docs/architecture.md): every include of src/ and
# include/orfeas/ points to its own subsystem or one below it.
add_test(NAME test_layers COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_layers.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(test_layers PROPERTIES TIMEOUT 120 LABELS unit)
