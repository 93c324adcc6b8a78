# The web page (web/, embedded at build time) in Debian's headless Chromium
# against a real server; screenshots in the build tree's web-test/.
if(ORFEAS_WEB_THREE)
add_test(NAME web_page COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/web/test_web.sh
         $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA} ${CMAKE_CURRENT_BINARY_DIR}/web-test)
set_tests_properties(web_page PROPERTIES LABELS oracle TIMEOUT 600)
endif()
