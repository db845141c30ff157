# What `cmake --install` adds beyond the binary, the unit and the configuration, and the Debian
# package CPack makes of it (docs/operations.md, "Debian package"):
#   cmake --preset package && cmake --build --preset package && cpack --preset package
# gives build/package/triaged_<version>_amd64.deb.

# The monitoring mixin, the documentation with the runbook, the examples and the man page.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/monitoring/dashboards ${CMAKE_SOURCE_DIR}/monitoring/prometheus
        DESTINATION ${CMAKE_INSTALL_DATADIR}/triaged/monitoring)
install(FILES ${CMAKE_SOURCE_DIR}/docs/api.md ${CMAKE_SOURCE_DIR}/docs/configuration.md
              ${CMAKE_SOURCE_DIR}/docs/operations.md ${CMAKE_SOURCE_DIR}/docs/monitoring.md
              ${CMAKE_SOURCE_DIR}/docs/runbook.md ${CMAKE_SOURCE_DIR}/docs/sla.md
              ${CMAKE_SOURCE_DIR}/docs/suppression.md ${CMAKE_SOURCE_DIR}/docs/escalation.md
              ${CMAKE_SOURCE_DIR}/docs/console.md ${CMAKE_SOURCE_DIR}/docs/openapi.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/config)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/rules/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/rules)

# Manual page and changelog, compressed as Debian wants them (gzip -9n: no name, no time stamp,
# so the package is reproducible).
find_program(TRIAGED_GZIP gzip)
if(TRIAGED_GZIP)
  foreach(pair "docs/triaged.1|triaged.1.gz" "cmake/debian/changelog|changelog.gz")
    string(REPLACE "|" ";" pair "${pair}")
    list(GET pair 0 src)
    list(GET pair 1 out)
    add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/${out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
      COMMAND ${TRIAGED_GZIP} -9nc ${CMAKE_SOURCE_DIR}/${src} > ${CMAKE_BINARY_DIR}/packaging/${out}
      DEPENDS ${CMAKE_SOURCE_DIR}/${src} VERBATIM)
    list(APPEND TRIAGED_PACKAGING_FILES ${CMAKE_BINARY_DIR}/packaging/${out})
  endforeach()
  add_custom_target(triaged_packaging_files ALL DEPENDS ${TRIAGED_PACKAGING_FILES})
  install(FILES ${CMAKE_BINARY_DIR}/packaging/triaged.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
install(FILES ${CMAKE_SOURCE_DIR}/cmake/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME triaged)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Who builds the package: set -DTRIAGED_PACKAGE_MAINTAINER="Name <address>" for your own.
set(TRIAGED_PACKAGE_MAINTAINER "triaged developers <triaged-dev@example.org>" CACHE STRING
    "The Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${TRIAGED_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "event correlation and SLA engine for NOC teams and SREs")
set(CPACK_PACKAGE_DESCRIPTION
    "triaged ingests monitoring alerts at high rates (Prometheus and Alertmanager,
PagerDuty-style events, JSON and NDJSON, syslog), deduplicates them, correlates
them into incidents and problems, evaluates availability, capacity and SLA
rules in real time, stores what matters durably (SQLite or PostgreSQL, with an
active/standby pair), sends incidents to ticketing and paging tools with
escalation, and exposes Prometheus metrics, a JSON API and an operator console.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # triaged_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE "")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: computed from the binary's libraries by dpkg-shlibdeps, not listed by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/cmake/debian/conffiles ${CMAKE_SOURCE_DIR}/cmake/debian/postinst
    ${CMAKE_SOURCE_DIR}/cmake/debian/prerm ${CMAKE_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
include(CPack)
