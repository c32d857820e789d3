// NetFlow v5 encoder: writes datagrams in the layout of src/wire/v5.h.
//
// Used by ringflow-gen (src/gen/) to build load, and by every stage's tests to
// build input for the decoder. It is the exact inverse of the decoder's raw
// fields: what encode_v5() writes, validate_datagram() + decode_pdu() read back
// field for field (tests/gen_encoder_test.cc checks the round trip).
//
// Every store is a bounded big-endian byte store (src/wire/bytes.h) at an
// offset from src/wire/v5.h
// (never a cast of the buffer to a struct), so the encoder has no alignment or
// host-endianness assumptions. The helpers write exactly the values given,
// including invalid ones (version != 5, count 0 or > 30): the fault injector
// builds malformed datagrams with them on purpose.
//
// Fields the encoder ignores: Record::start_ms / end_ms (computed by the
// decoder, not on the wire); pad1 / pad2 are written as zero.
//
// Thread safety: pure functions on caller-owned buffers; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>

#include "wire/v5.h"

namespace ringflow::v5 {

// Writes the 24-byte header `h` exactly as given (h.version and h.count
// included) at out[0..24). Returns kHeaderSize, or 0 if cap < kHeaderSize.
size_t write_v5_header(const Header& h, uint8_t* out, size_t cap);

// Writes one 48-byte record at out[0..48). Returns kRecordSize, or 0 if
// cap < kRecordSize.
size_t write_v5_record(const Record& r, uint8_t* out, size_t cap);

// Writes record `index` (0-based) of a PDU whose header starts at `pdu`:
// at pdu + 24 + 48*index. Returns kRecordSize, or 0 if it does not fit in cap
// (cap counts from `pdu`).
size_t write_v5_record_at(const Record& r, size_t index, uint8_t* pdu, size_t cap);

// Overwrites one header field in place (the fault injector rewrites sequence
// numbers and counts of already built datagrams). REQUIRES: cap >= kHeaderSize
// is checked; returns false (and writes nothing) otherwise.
bool patch_v5_count(uint8_t* pdu, size_t cap, uint16_t count);
bool patch_v5_sequence(uint8_t* pdu, size_t cap, uint32_t flow_sequence);
bool patch_v5_version(uint8_t* pdu, size_t cap, uint16_t version);

// Encodes a complete PDU: the header (version = h.version, count = n, every
// other field from h) followed by the n records. Returns the bytes written,
// 24 + 48*n, or 0 if cap is too small (nothing is guaranteed about out then).
// n is not limited to 30 here; callers wanting a valid datagram keep
// 1 <= n <= kMaxRecords and h.version == kVersion (Header's default version is
// 0, so set it).
size_t encode_v5(const Header& h, const Record* records, size_t n, uint8_t* out, size_t cap);

// Size of a PDU with n records.
constexpr size_t pdu_size(size_t n) { return kHeaderSize + n * kRecordSize; }

// Builds a sampling_raw value: mode in bits 15..14, interval in 13..0.
// REQUIRES: mode <= 3, interval <= 0x3FFF (higher bits are masked off).
constexpr uint16_t make_sampling(uint8_t mode, uint16_t interval) {
  return static_cast<uint16_t>((uint16_t{mode} & 3u) << 14 | (interval & 0x3FFFu));
}

}  // namespace ringflow::v5
