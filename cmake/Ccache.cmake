# Reuse compiled objects across builds when ccache is installed; CI and developers rebuild often.
find_program(DD_CCACHE_PROGRAM ccache)
if(DD_CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${DD_CCACHE_PROGRAM})
  message(STATUS "Using ccache: ${DD_CCACHE_PROGRAM}")
endif()
