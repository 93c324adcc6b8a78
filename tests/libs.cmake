# The two libraries: liborfeas (the engine) references nothing of
# libmicrohttpd, SQLite, hiredis, OpenSSL or liborfeas_service.
add_test(NAME libs_engine_deps
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_libs.sh ${CMAKE_NM}
                 $<TARGET_FILE:orfeas_engine> $<TARGET_FILE:orfeas_service>)
set_tests_properties(libs_engine_deps PROPERTIES LABELS unit TIMEOUT 60)
