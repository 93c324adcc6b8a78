# The OpenAPI document: validated by @apidevtools/swagger-parser (oracle),
# with every generation parameter, error code and route of DESIGN §6.
add_executable(openapi_dump ${CMAKE_CURRENT_SOURCE_DIR}/openapi_dump.c)
target_include_directories(openapi_dump PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(openapi_dump PRIVATE orfeas_lib)

add_test(NAME openapi_oracle
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_openapi.sh $<TARGET_FILE:openapi_dump>)
set_tests_properties(openapi_oracle PROPERTIES LABELS oracle TIMEOUT 120)
