# cosyvoice_set_warnings(<target>): the project's warning set; errors when COSYVOICE_WERROR is ON.
function(cosyvoice_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${COSYVOICE_WERROR}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
      # not -Wnull-dereference: GCC 12 reports false positives inside libstdc++ and nlohmann-json at -O2
      -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
      $<$<BOOL:${COSYVOICE_WERROR}>:-Werror>)
  endif()
endfunction()
