// The clickhouse sink's spool (src/sink/spool_dir.h): FIFO order, the byte
// bound, surviving a restart, and files that are torn, truncated or
// tampered with.
#include "sink_test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <random>

#include "sink/spool_dir.h"

using namespace ringflow;
using namespace ringflow::test;

namespace {

SpoolRecord make_record(uint64_t id, size_t payload_bytes) {
  SpoolRecord r;
  r.batch_id = id;
  r.rows = id * 10 + 1;
  r.start_ms = kT0 + static_cast<int64_t>(id) * kMin;
  r.columns = "`interval_start`, `flows`";
  r.payload.resize(payload_bytes);
  for (size_t i = 0; i < payload_bytes; ++i) r.payload[i] = static_cast<char>((id * 31 + i) & 0xFF);
  return r;
}

uint64_t entry_size(const SpoolRecord& r) {
  return Spool::kHeaderBytes + r.columns.size() + r.payload.size();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  REQUIRE(out.good());
  out << data;
}

// Pops every entry and returns their batch ids in order.
std::vector<uint64_t> drain(Spool& s) {
  std::vector<uint64_t> ids;
  SpoolRecord r;
  std::string err;
  for (;;) {
    Spool::Read rd = s.read_front(&r, &err);
    if (rd == Spool::Read::kEmpty) break;
    if (rd == Spool::Read::kCorrupt) continue;
    REQUIRE(rd == Spool::Read::kOk);
    ids.push_back(r.batch_id);
    REQUIRE(s.pop_front(&err));
  }
  return ids;
}

}  // namespace

TEST_CASE("Spool: entries come back in the order they were appended, byte-exact",
          "[sink][clickhouse][spool]") {
  // "replayed in order when it comes back"
  TempDir dir;
  Spool s;
  std::string err;
  REQUIRE(s.open(dir.path() + "/sp", 1 << 20, &err));
  std::vector<SpoolRecord> in;
  for (uint64_t id = 1; id <= 12; ++id) {
    in.push_back(make_record(id, 100 + id * 37));
    REQUIRE(s.append(in.back(), &err) == Spool::Append::kOk);
  }
  CHECK(s.entries() == 12);
  uint64_t bytes = 0, rows = 0;
  for (const auto& r : in) bytes += entry_size(r), rows += r.rows;
  CHECK(s.bytes() == bytes);
  CHECK(s.rows() == rows);

  SpoolRecord r;
  for (const auto& want : in) {
    REQUIRE(s.read_front(&r, &err) == Spool::Read::kOk);
    CHECK(r.batch_id == want.batch_id);
    CHECK(r.rows == want.rows);
    CHECK(r.start_ms == want.start_ms);
    CHECK(r.columns == want.columns);
    CHECK(r.payload == want.payload);
    // Reading does not consume: the front stays until pop_front.
    REQUIRE(s.read_front(&r, &err) == Spool::Read::kOk);
    CHECK(r.batch_id == want.batch_id);
    REQUIRE(s.pop_front(&err));
  }
  CHECK(s.read_front(&r, &err) == Spool::Read::kEmpty);
  CHECK(s.entries() == 0);
  CHECK(s.bytes() == 0);
  CHECK(s.rows() == 0);
  CHECK(list_dir(dir.path() + "/sp").empty());
}

TEST_CASE("Spool: the byte bound refuses the newest entry and keeps the older ones",
          "[sink][clickhouse][spool]") {
  // "bounded by spool.max_bytes: when full, the NEWEST batch is refused"
  TempDir dir;
  const SpoolRecord probe = make_record(1, 1000);
  const uint64_t one = entry_size(probe);
  Spool s;
  std::string err;
  REQUIRE(s.open(dir.path(), 3 * one + one / 2, &err));
  for (uint64_t id = 1; id <= 3; ++id) REQUIRE(s.append(make_record(id, 1000), &err) == Spool::Append::kOk);
  CHECK(s.append(make_record(4, 1000), &err) == Spool::Append::kFull);
  CHECK_THAT(err, Catch::Contains("full"));
  CHECK(s.bytes() == 3 * one);
  CHECK(s.bytes() <= s.max_bytes());
  // A smaller entry that fits is still taken.
  SpoolRecord small = make_record(5, 10);
  REQUIRE(entry_size(small) <= one / 2);
  CHECK(s.append(small, &err) == Spool::Append::kOk);
  CHECK(s.bytes() <= s.max_bytes());
  // Room comes back as entries are delivered.
  std::string e2;
  SpoolRecord r;
  REQUIRE(s.read_front(&r, &e2) == Spool::Read::kOk);
  REQUIRE(s.pop_front(&e2));
  CHECK(s.append(make_record(6, 1000), &err) == Spool::Append::kOk);
  CHECK(drain(s) == std::vector<uint64_t>{2, 3, 5, 6});
}

TEST_CASE("Spool: a restart finds the entries in order and continues the sequence",
          "[sink][clickhouse][spool]") {
  // "Nothing already flushed is lost across a ringflow restart (the spool survives it)"
  TempDir dir;
  std::string err;
  {
    Spool s;
    REQUIRE(s.open(dir.path(), 1 << 20, &err));
    for (uint64_t id = 1; id <= 5; ++id) REQUIRE(s.append(make_record(id, 64), &err) == Spool::Append::kOk);
    SpoolRecord r;
    REQUIRE(s.read_front(&r, &err) == Spool::Read::kOk);
    REQUIRE(s.pop_front(&err));  // 1 delivered before the "crash"
  }
  // A crash during an append leaves a .tmp file: it must be ignored and removed.
  write_file(dir.path() + "/00000000000000000099.tmp", "half an entry");
  // Files that are not ours are left alone.
  write_file(dir.path() + "/README", "not a spool file");
  Spool s;
  REQUIRE(s.open(dir.path(), 1 << 20, &err));
  CHECK(s.entries() == 4);
  CHECK(s.rows() == 21 + 31 + 41 + 51);
  // New entries go after the old ones, whatever their names sort like.
  REQUIRE(s.append(make_record(77, 64), &err) == Spool::Append::kOk);
  CHECK(drain(s) == std::vector<uint64_t>{2, 3, 4, 5, 77});
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"README"});
}

TEST_CASE("Spool: corrupt files are set aside, counted and never replayed",
          "[sink][clickhouse][spool]") {
  // "corrupt file handled"
  TempDir dir;
  std::string err;
  {
    Spool s;
    REQUIRE(s.open(dir.path(), 1 << 20, &err));
    for (uint64_t id = 1; id <= 5; ++id) REQUIRE(s.append(make_record(id, 300), &err) == Spool::Append::kOk);
  }
  auto path = [&](uint64_t seq) { return dir.path() + "/" + Spool::file_name(seq); };
  // 2: one payload bit flipped. 3: truncated. 4: bad magic (garbage).
  std::string f2 = read_file(path(2));
  f2[Spool::kHeaderBytes + 40] ^= 0x01;
  write_file(path(2), f2);
  std::string f3 = read_file(path(3));
  write_file(path(3), f3.substr(0, f3.size() - 7));
  write_file(path(4), std::string(200, 'x'));

  Spool s;
  REQUIRE(s.open(dir.path(), 1 << 20, &err));
  CHECK(s.corrupt() == 1);  // the bad magic is seen from the header alone
  CHECK(s.entries() == 4);
  SpoolRecord r;
  std::vector<uint64_t> ok;
  int corrupt_reads = 0;
  for (;;) {
    Spool::Read rd = s.read_front(&r, &err);
    if (rd == Spool::Read::kEmpty) break;
    if (rd == Spool::Read::kCorrupt) {
      ++corrupt_reads;
      CHECK_THAT(err, Catch::Contains("corrupt"));
      continue;
    }
    REQUIRE(rd == Spool::Read::kOk);
    ok.push_back(r.batch_id);
    REQUIRE(s.pop_front(&err));
  }
  CHECK(ok == std::vector<uint64_t>{1, 5});
  CHECK(corrupt_reads == 2);
  CHECK(s.corrupt() == 3);
  CHECK(s.bytes() == 0);
  CHECK(list_dir(dir.path()) ==
        std::vector<std::string>{Spool::file_name(2) + ".corrupt", Spool::file_name(3) + ".corrupt",
                                 Spool::file_name(4) + ".corrupt"});
}

TEST_CASE("Spool: decode rejects every truncation and random damage without crashing",
          "[sink][clickhouse][spool]") {
  SpoolRecord in = make_record(42, 257);
  std::string file;
  Spool::encode(in, &file);
  SpoolRecord out;
  std::string why;
  REQUIRE(Spool::decode(file, &out, &why));
  CHECK(out.payload == in.payload);
  for (size_t n = 0; n < file.size(); ++n) {
    INFO("truncated to " << n);
    CHECK_FALSE(Spool::decode(file.substr(0, n), &out, &why));
  }
  // Lengths that would wrap when added.
  std::string bad = file;
  for (int i = 40; i < 48; ++i) bad[i] = '\xff';
  CHECK_FALSE(Spool::decode(bad, &out, &why));
  CHECK_THAT(why, Catch::Contains("lengths"));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string m = file;
    size_t pos = rng() % m.size();
    m[pos] = static_cast<char>(m[pos] ^ (1u << (rng() % 8)));
    INFO("bit flip at " << pos);
    CHECK_FALSE(Spool::decode(m, &out, &why));
  }
}

TEST_CASE("Spool: an unusable directory is an error naming it", "[sink][clickhouse][spool]") {
  TempDir dir;
  write_file(dir.path() + "/file", "x");
  Spool s;
  std::string err;
  CHECK_FALSE(s.open(dir.path() + "/file/sub", 1 << 20, &err));
  CHECK_THAT(err, Catch::Contains(dir.path() + "/file/sub"));
}
