// libFuzzer harness for the store's record decoders (incidents, problems, silences, threshold
// windows as read back at start-up): anything either decodes, or throws std::runtime_error naming
// the field; a decoded record encodes and decodes again to the same record.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "store/state_codec.h"

using namespace triaged::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    IncidentRecord r = decodeIncident(text);
    std::string again;
    encodeIncident(again, r.incident);
    IncidentRecord r2 = decodeIncident(again);
    std::string third;
    encodeIncident(third, r2.incident);
    if (third != again) std::abort();
  } catch (const std::runtime_error& e) {
    if (!*e.what()) std::abort();
  }
  try {
    Problem p = decodeProblem(text);
    std::string again;
    encodeProblem(again, p);
    (void)decodeProblem(again);
  } catch (const std::runtime_error&) {
  }
  try {
    Silence s = decodeSilence(text);
    std::string again;
    encodeSilence(again, s);
    Silence s2 = decodeSilence(again);
    if (s2.matchers.size() != s.matchers.size()) std::abort();
  } catch (const std::runtime_error&) {
  }
  try {
    auto w = decodeWindow(text);
    if (decodeWindow(encodeWindow(w)) != w) std::abort();
  } catch (const std::runtime_error& e) {
    if (!*e.what()) std::abort();
  }
  return 0;
}
