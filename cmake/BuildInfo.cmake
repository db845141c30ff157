# Build information compiled into the binary and shown by --version and /api/v1/status.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE TRIAGED_GIT_COMMIT
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT TRIAGED_GIT_COMMIT)
  set(TRIAGED_GIT_COMMIT "unknown")
endif()
set(TRIAGED_BUILD_TYPE ${CMAKE_BUILD_TYPE})
if(TRIAGED_SANITIZE)
  set(TRIAGED_BUILD_TYPE "${CMAKE_BUILD_TYPE}+asan+ubsan")
endif()
set(TRIAGED_DEFAULT_CONFIG "${CMAKE_INSTALL_FULL_SYSCONFDIR}/triaged/triaged.yaml")
configure_file(${CMAKE_SOURCE_DIR}/cmake/build_info.h.in
  ${CMAKE_BINARY_DIR}/generated/triaged/build_info.h @ONLY)
