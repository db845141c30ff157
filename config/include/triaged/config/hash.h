#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace triaged::config {

// Hex SHA-256 of the given bytes.
std::string sha256Hex(const std::string& bytes);

// SHA-256 over bytes handed in pieces: the configuration's hash covers its rule files without
// holding them all in memory at once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  std::string hex();  // finishes: call once

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace triaged::config
