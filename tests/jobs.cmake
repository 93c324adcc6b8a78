# The scheduler (real engine for one job, a stand-in pipeline for the timing
# cases) and the request parser (multipart, raw, JSON).
orfeas_add_c_test(test_scheduler ${CMAKE_CURRENT_SOURCE_DIR}/test_scheduler.c)
orfeas_add_c_test(test_request_params ${CMAKE_CURRENT_SOURCE_DIR}/test_request_params.c)
