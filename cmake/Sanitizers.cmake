# COSYVOICE_SANITIZE instruments every target of the project:
#   "address;undefined"  ASan + UBSan (`make test-sanitize`)
#   "thread"             ThreadSanitizer (`make test-tsan`; cannot be combined with address)
# Third-party libraries (ONNX Runtime, ICU, libsndfile) are not instrumented; see tests/tsan.supp.
if(COSYVOICE_SANITIZE)
  if("thread" IN_LIST COSYVOICE_SANITIZE AND "address" IN_LIST COSYVOICE_SANITIZE)
    message(FATAL_ERROR "COSYVOICE_SANITIZE: 'thread' and 'address' cannot be combined")
  endif()
  string(REPLACE ";" "," _san "${COSYVOICE_SANITIZE}")
  add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_san})
  message(STATUS "Sanitizers: ${_san}")
endif()
