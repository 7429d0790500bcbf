# COSYVOICE_SANITIZE="address;undefined" instruments every target of the project.
if(COSYVOICE_SANITIZE)
  string(REPLACE ";" "," _san "${COSYVOICE_SANITIZE}")
  add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_san})
  message(STATUS "Sanitizers: ${_san}")
endif()
