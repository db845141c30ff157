// An alert's packed strings (AlertStrings: the layout, packing and reading) and its label
// signature (LabelSig). Declared in dedup/alert_table.h; the table that owns them is
// alert_table.cpp.
#include <xxhash.h>

#include <cstring>

#include "dedup/alert_table.h"

namespace triaged::engine {

using api::Event;
using api::EventBatch;

// Layout: u32 total bytes, u16 labels, u16 annotations (its top bit: a value follows), the
// value (a double) when there is one, then per string a LEB128 length (one byte below 128) and
// the bytes. A blob's allocation is its size rounded up to 16 (allocBlob): a new text that
// fits is written over the old one, and a new value always is, without allocating.
namespace {

constexpr uint16_t kHasValue = 0x8000;

size_t roundUp(size_t n) { return (n + 15) & ~size_t{15}; }

SharedBlob allocBlob(size_t n) { return SharedBlob::allocate(n); }  // rounded up to 16

size_t varintSize(size_t n) {
  size_t k = 1;
  while (n >= 128) {
    n >>= 7;
    ++k;
  }
  return k;
}

char* putVarint(char* p, size_t n) {
  while (n >= 128) {
    *p++ = static_cast<char>((n & 127) | 128);
    n >>= 7;
  }
  *p++ = static_cast<char>(n);
  return p;
}

}  // namespace

const char* AlertStrings::readString(const char* p, std::string_view& out) {
  size_t n = 0;
  int shift = 0;
  unsigned char c;
  do {
    c = static_cast<unsigned char>(*p++);
    n |= static_cast<size_t>(c & 127) << shift;
    shift += 7;
  } while (c & 128);
  out = std::string_view(p, n);
  return p + n;
}

namespace {

const char* skip(const char* p, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) p = AlertStrings::skipString(p);
  return p;
}

}  // namespace

const char* AlertStrings::labels() const { return skip(first(), kFieldCount); }

bool AlertStrings::sameLayoutEdits(const EventBatch& b, const Event& e, TextEdit* edits,
                                   size_t& count) const {
  if (hasValue() != e.has_value || labelCount() != e.labels_count ||
      annotationCount() != e.annotations_count)
    return false;
  count = 0;
  const char* p = skip(first(), kSummary);  // past the signed fields
  auto text = [&](std::string_view want) {
    std::string_view have;
    p = readString(p, have);
    if (have == want) return true;
    if (have.size() != want.size() || count == kMaxEdits) return false;
    edits[count++] = {static_cast<size_t>(have.data() - p_), want};
    return true;
  };
  if (!text(e.summary) || !text(e.description) || !text(e.dedup_key)) return false;
  p = skip(p, 2 * e.labels_count);  // the labels, signed
  const api::Label* an = b.annotationsOf(e);
  for (uint32_t i = 0; i < e.annotations_count; ++i)
    if (!text(an[i].name) || !text(an[i].value)) return false;
  return true;
}

size_t AlertStrings::packedSize(const EventBatch& b, const Event& e) {
  std::string_view fields[kFieldCount] = {e.source,  e.resource,    e.check,    e.service,
                                          e.summary, e.description, e.dedup_key};
  size_t n = e.has_value ? 16 : 8;
  auto add = [&](std::string_view s) { n += varintSize(s.size()) + s.size(); };
  for (auto f : fields) add(f);
  const api::Label* l = b.labelsOf(e);
  const api::Label* a = b.annotationsOf(e);
  for (uint32_t i = 0; i < e.labels_count; ++i) add(l[i].name), add(l[i].value);
  for (uint32_t i = 0; i < e.annotations_count; ++i) add(a[i].name), add(a[i].value);
  return n;
}

SharedBlob AlertStrings::pack(const EventBatch& b, const Event& e) {
  size_t n = packedSize(b, e);
  auto blob = allocBlob(n);
  packInto(blob.get(), n, b, e);
  return blob;
}

void AlertStrings::packInto(char* p, size_t n, const EventBatch& b, const Event& e) {
  std::string_view fields[kFieldCount] = {e.source,  e.resource,    e.check,    e.service,
                                          e.summary, e.description, e.dedup_key};
  const api::Label* l = b.labelsOf(e);
  const api::Label* a = b.annotationsOf(e);
  auto put = [&](std::string_view s) {
    p = putVarint(p, s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view may have no data
    p += s.size();
  };
  uint32_t total = static_cast<uint32_t>(n);
  uint16_t nl = static_cast<uint16_t>(e.labels_count),
           na = static_cast<uint16_t>(e.annotations_count | (e.has_value ? kHasValue : 0));
  std::memcpy(p, &total, 4);
  std::memcpy(p + 4, &nl, 2);
  std::memcpy(p + 6, &na, 2);
  p += 8;
  if (e.has_value) {
    std::memcpy(p, &e.value, 8);
    p += 8;
  }
  for (auto f : fields) put(f);
  for (uint32_t i = 0; i < e.labels_count; ++i) put(l[i].name), put(l[i].value);
  for (uint32_t i = 0; i < e.annotations_count; ++i) put(a[i].name), put(a[i].value);
}

bool AlertStrings::value(double& out) const {
  if (!hasValue()) return false;
  std::memcpy(&out, p_ + kValueOffset, 8);
  return true;
}

bool AlertStrings::hasValue() const {
  uint16_t v;
  std::memcpy(&v, p_ + 6, 2);
  return v & kHasValue;
}

void AlertStrings::setValue(char* blob, double v) { std::memcpy(blob + kValueOffset, &v, 8); }

size_t AlertStrings::capacity() const { return roundUp(bytes()); }

bool AlertStrings::wellFormed(std::string_view blob) {
  uint32_t n = 0;
  if (blob.size() < 8) return false;
  std::memcpy(&n, blob.data(), 4);
  return n == blob.size() && (!AlertStrings(blob.data()).hasValue() || n >= 16);
}

size_t AlertStrings::bytes() const {
  uint32_t n;
  std::memcpy(&n, p_, 4);
  return n;
}
uint32_t AlertStrings::labelCount() const {
  uint16_t v;
  std::memcpy(&v, p_ + 4, 2);
  return v;
}
uint32_t AlertStrings::annotationCount() const {
  uint16_t v;
  std::memcpy(&v, p_ + 6, 2);
  return v & ~kHasValue;
}

std::string_view AlertStrings::at(uint32_t idx) const {
  std::string_view out;
  readString(skip(first(), idx), out);
  return out;
}

std::string_view AlertStrings::field(Field f) const { return at(f); }

api::Label AlertStrings::label(uint32_t i) const {
  api::Label l;
  readString(readString(skip(first(), kFieldCount + 2 * i), l.name), l.value);
  return l;
}

bool AlertStrings::findLabel(std::string_view name, std::string_view& value) const {
  const char* p = labels();
  for (uint32_t i = 0, n = labelCount(); i < n; ++i) {
    std::string_view k;
    p = readString(readString(p, k), value);
    if (k == name) return true;
  }
  return false;
}

void LabelSig::add(std::string_view name, std::string_view value) {
  uint64_t h = XXH3_64bits_withSeed(value.data(), value.size(),
                                    XXH3_64bits(name.data(), name.size()) + value.size());
  for (int k = 0; k < 2; ++k, h >>= 7) w[(h >> 6) & 1] |= uint64_t{1} << (h & 63);
}

std::string_view LabelSig::fieldKey(AlertStrings::Field f) {
  static constexpr std::string_view kKeys[] = {"\001source",   "\001resource", "\001check",
                                               "\001service",  "\001summary",  "\001description",
                                               "\001dedup_key"};
  return kKeys[f];
}

LabelSig LabelSig::of(const AlertStrings& v) {
  LabelSig s;
  for (auto f : {AlertStrings::kSource, AlertStrings::kResource, AlertStrings::kCheck,
                 AlertStrings::kService})
    s.add(fieldKey(f), v.field(f));
  v.forEachLabel([&](const api::Label& l) { s.add(l.name, l.value); });
  return s;
}

bool AlertStrings::sameSigned(const EventBatch& b, const Event& e) const {
  if (labelCount() != e.labels_count) return false;
  // The fields in their packed order: source, resource, check, service, then three unsigned.
  static_assert(kSource == 0 && kService == 3 && kFieldCount == 7);
  const std::string_view signed_fields[] = {e.source, e.resource, e.check, e.service};
  const char* p = first();
  std::string_view s;
  for (auto want : signed_fields) {
    p = readString(p, s);
    if (s != want) return false;
  }
  p = skip(p, kFieldCount - 4);
  const api::Label* l = b.labelsOf(e);
  std::string_view name, value;
  for (uint32_t i = 0; i < e.labels_count; ++i) {
    p = readString(readString(p, name), value);
    if (name != l[i].name || value != l[i].value) return false;
  }
  return true;
}

bool AlertStrings::sameSigned(const AlertStrings& o) const {
  if (labelCount() != o.labelCount()) return false;
  const char *p = first(), *q = o.first();
  std::string_view x, y;
  for (int i = 0; i < 4; ++i) {  // source, resource, check, service (as above)
    p = readString(p, x);
    q = readString(q, y);
    if (x != y) return false;
  }
  p = skip(p, kFieldCount - 4);
  q = skip(q, kFieldCount - 4);
  for (uint32_t i = 0, n = 2 * labelCount(); i < n; ++i) {  // each label's name and value
    p = readString(p, x);
    q = readString(q, y);
    if (x != y) return false;
  }
  return true;
}

}  // namespace triaged::engine
