# Faults and bad input against the real server (hang-ups, slowloris, a PNG
# bomb, truncated files, empty bodies, wrong content types, GPU OOM on sim,
# 10 000 tiny requests). kill -9 and a full disk: cache.cmake (persistence).
add_test(NAME faults COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_faults.sh
         $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(faults PROPERTIES LABELS oracle TIMEOUT 300)
