// An incident's new members of one group commit, as one row of incident_alert_blocks (schema
// 10): the seq of its first member, the seq after its last, and the members packed 16 bytes
// each (seq u32, role i32, fingerprint u64; little-endian). An alert storm that groups into
// few incidents adds one row per incident and commit instead of one per alert: each row is a
// heap insert and a b-tree insert with their WAL on the server, and the member rows were half
// of the server's work per new alert (bench/RESULTS.md).
//
// incident_alerts keeps what it held before schema 10 and every member rewritten in place
// (the writer's merge path); where both hold a seq, the incident_alerts row is the later one.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/store_units.h"

namespace triaged::engine::pg {

inline constexpr size_t kMemberBytes = 16;

inline void appendMember(std::string& out, const MemberRow& m) {
  char b[kMemberBytes];
  auto put = [&b](size_t at, uint64_t v, size_t n) {
    for (size_t k = 0; k < n; ++k) b[at + k] = static_cast<char>((v >> (8 * k)) & 0xff);
  };
  put(0, m.seq, 4);
  put(4, static_cast<uint32_t>(m.role), 4);
  put(8, m.fingerprint, 8);
  out.append(b, sizeof b);
}

// Calls f(MemberRow) for each member of a block; throws naming the incident when the bytes
// are not whole members.
template <class F>
void eachMember(uint64_t incident, std::string_view block, F&& f) {
  if (block.size() % kMemberBytes != 0)
    throw std::runtime_error("incident_alert_blocks: incident " + std::to_string(incident) +
                             " has a block of " + std::to_string(block.size()) +
                             " bytes, not a whole number of members");
  auto get = [&block](size_t at, size_t n) {
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(block[at + k])) << (8 * k);
    return v;
  };
  for (size_t at = 0; at < block.size(); at += kMemberBytes)
    f(MemberRow{static_cast<uint32_t>(get(at, 4)), get(at + 8, 8),
                static_cast<int>(static_cast<int32_t>(static_cast<uint32_t>(get(at + 4, 4))))});
}

}  // namespace triaged::engine::pg
