# The two libraries: liborfeas (the engine) references nothing of
# libmicrohttpd, SQLite, hiredis, OpenSSL or liborfeas_service; and
# examples/image_to_glb, linked against liborfeas alone, writes the same GLB
# as `orfeas generate`.
add_test(NAME libs_engine_deps
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_libs.sh ${CMAKE_NM}
                 $<TARGET_FILE:orfeas_engine> $<TARGET_FILE:orfeas_service>)
set_tests_properties(libs_engine_deps PROPERTIES LABELS unit TIMEOUT 60)

add_test(NAME example_image_to_glb
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_example_image_to_glb.sh
                 $<TARGET_FILE:image_to_glb> $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(example_image_to_glb PROPERTIES LABELS oracle TIMEOUT 300)
