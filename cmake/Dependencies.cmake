# Every dependency comes from a Debian package (scripts/install-deps.sh) and is found here,
# with its CMake package config where Debian ships one and pkg-config otherwise.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)          # Asio and Beast are header-only
find_package(OpenSSL REQUIRED)             # TLS for the HTTP server, HMAC for webhooks
find_package(simdjson REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CURL REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(date REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(ABSL REQUIRED IMPORTED_TARGET absl_flat_hash_map absl_hash)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)   # the postgresql state backend
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)  # the kafka input (and its mock cluster in tests)

find_path(CONCURRENTQUEUE_INCLUDE_DIR concurrentqueue/concurrentqueue.h REQUIRED)
add_library(concurrentqueue INTERFACE)
target_include_directories(concurrentqueue SYSTEM INTERFACE ${CONCURRENTQUEUE_INCLUDE_DIR})
