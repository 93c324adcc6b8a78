# Exporters: unit test, oracle fixture and the meshinfo helper.
pkg_check_modules(EXPORT_CJSON REQUIRED IMPORTED_TARGET libcjson)

orfeas_add_c_test(test_export ${CMAKE_CURRENT_SOURCE_DIR}/test_export.c)
target_link_libraries(test_export PRIVATE PkgConfig::EXPORT_CJSON)

add_executable(export_fixture ${CMAKE_CURRENT_SOURCE_DIR}/export_fixture.c)
target_link_libraries(export_fixture PRIVATE orfeas_lib)

# Test helper (bbox numbers for oracle_bbox_stl); deliberately not linked to
# the library so it shares no code with what it measures.
add_executable(meshinfo ${CMAKE_CURRENT_SOURCE_DIR}/meshinfo.c)

add_test(NAME export_oracles
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_export_oracles.sh
                 $<TARGET_FILE:export_fixture> $<TARGET_FILE:meshinfo>)
set_tests_properties(export_oracles PROPERTIES LABELS oracle TIMEOUT 300)
