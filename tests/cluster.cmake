# The cluster (src/cluster) in one process: the Redis URL parser, then two
# in-process nodes (scheduler + cache + cluster each, a stand-in pipeline)
# on a real redis-server started by the test: shared job status, work taken
# by the free node, cancel across nodes, cross-node coalescing, the cache's
# shared tier, and Redis going away and coming back. Skipped (77) without
# redis-server.
orfeas_add_c_test(test_cluster_unit ${CMAKE_CURRENT_SOURCE_DIR}/test_cluster_unit.c)
set_tests_properties(test_cluster_unit PROPERTIES TIMEOUT 300)
