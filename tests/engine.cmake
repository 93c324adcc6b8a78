# The engine end to end through the CLI, checked by third-party oracles.
set(ORFEAS_MATRIX_IMAGES apple.jpg astronaut.png camera.png chelsea.png coffee.png horse.png
    opencv-logo.png orange.jpg plant.jpg plant_matte.png rocket.jpg)
foreach(image ${ORFEAS_MATRIX_IMAGES})
  set(several 0)
  if(image STREQUAL "opencv-logo.png")
    set(several 1) # three rings and letters: several objects
  endif()
  add_test(NAME mesh_matrix_${image}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_mesh_matrix.sh $<TARGET_FILE:orfeas>
                   ${ORFEAS_TESTDATA} ${image} ${several})
  set_tests_properties(mesh_matrix_${image} PROPERTIES LABELS oracle TIMEOUT 900)
endforeach()

add_test(NAME cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli.sh $<TARGET_FILE:orfeas> ${ORFEAS_TESTDATA})
set_tests_properties(cli PROPERTIES LABELS oracle TIMEOUT 300)

orfeas_add_c_test(test_engine_device ${CMAKE_CURRENT_SOURCE_DIR}/test_engine_device.c)
set_tests_properties(test_engine_device PROPERTIES TIMEOUT 600)

orfeas_add_c_test(test_engine_model ${CMAKE_CURRENT_SOURCE_DIR}/test_engine_model.c)
set_tests_properties(test_engine_model PROPERTIES TIMEOUT 600)
