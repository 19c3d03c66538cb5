# Warnings for our own targets only; generated and third-party code is compiled without them.
function(dd_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(DD_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
option(DD_WARNINGS_AS_ERRORS "Treat compiler warnings in project code as errors" OFF)
