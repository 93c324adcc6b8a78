# Image decoding and resizing. The fixtures are made with libpng's encoder,
# which the library itself does not link.
orfeas_add_c_test(test_image_decode test_image_decode.c test_image_fixtures.c)
target_link_libraries(test_image_decode PRIVATE PkgConfig::PNG)
orfeas_add_c_test(test_image_resize test_image_resize.c)
