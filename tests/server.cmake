# The HTTP server end to end (real server, loopback, curl).
add_test(NAME server_api COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_server_api.sh
         $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(server_api PROPERTIES LABELS oracle TIMEOUT 900)
# Scale-out: three nodes and a real redis-server (Debian's).
add_test(NAME cluster COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cluster.sh
         $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(cluster PROPERTIES LABELS oracle TIMEOUT 900)
