# The dedup cache and persistence: key properties, the two tiers (LRU by
# bytes, TTL on an injected clock, corruption detection), concurrency (unit);
# restart after kill -9, corruption and a full disk with the real server.
orfeas_add_c_test(test_cache ${CMAKE_CURRENT_SOURCE_DIR}/test_cache.c)
add_test(NAME persistence COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_persistence.sh
         $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(persistence PROPERTIES LABELS oracle TIMEOUT 300)
