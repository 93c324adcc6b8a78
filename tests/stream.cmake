# Scaled JPEG decoding, used by the progressive route's coarse levels.
orfeas_add_c_test(test_image_scaled ${CMAKE_CURRENT_SOURCE_DIR}/test_image_scaled.c)

# The progressive route, /metrics and the OpenAPI document on a real server.
add_test(NAME stream_api COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_stream_api.sh
         $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(stream_api PROPERTIES LABELS oracle TIMEOUT 300)
