// PromWriter (src/metrics/prom_writer.h): the Prometheus text exposition
// format, and the rules it enforces so that one bad series never makes a
// scraper reject the whole scrape.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "metrics/family.h"
#include "metrics/process_stats.h"
#include "metrics/prom_writer.h"

using namespace ringflow;

TEST_CASE("a family is # HELP then # TYPE then its samples", "[metrics][writer]") {
  // Issue: "GET /metrics in the Prometheus text format (# HELP, # TYPE,
  // counters ending in _total)".
  PromWriter w;
  REQUIRE(w.family("rf_datagrams_total", MetricType::kCounter, "Datagrams received."));
  w.sample({{"reactor", "0"}}, uint64_t{12});
  w.sample({{"reactor", "1"}}, uint64_t{0});
  REQUIRE(w.family("rf_queue_depth", MetricType::kGauge, "Queue depth."));
  w.sample(uint64_t{7});
  CHECK(w.text() ==
        "# HELP rf_datagrams_total Datagrams received.\n"
        "# TYPE rf_datagrams_total counter\n"
        "rf_datagrams_total{reactor=\"0\"} 12\n"
        "rf_datagrams_total{reactor=\"1\"} 0\n"
        "# HELP rf_queue_depth Queue depth.\n"
        "# TYPE rf_queue_depth gauge\n"
        "rf_queue_depth 7\n");
  CHECK(w.errors().empty());
}

TEST_CASE("counters must end in _total and never go negative", "[metrics][writer]") {
  PromWriter w;
  CHECK_FALSE(w.family("rf_datagrams", MetricType::kCounter, "no suffix"));
  w.sample(uint64_t{1});  // belongs to the refused family: dropped too
  CHECK(w.text().empty());
  REQUIRE(w.errors().size() == 2);
  CHECK(w.errors()[0] == "rf_datagrams: counter name must end in _total");

  REQUIRE(w.family("rf_cpu_seconds_total", MetricType::kCounter, "CPU"));
  w.sample(-1.0);
  w.sample(std::numeric_limits<double>::quiet_NaN());
  w.sample(1.5);
  CHECK(w.errors().size() == 4);
  CHECK(w.text().find("rf_cpu_seconds_total 1.5\n") != std::string::npos);
  CHECK(w.text().find("rf_cpu_seconds_total -1") == std::string::npos);
}

TEST_CASE("uint64 values are written exactly and doubles round-trip", "[metrics][writer]") {
  PromWriter w;
  REQUIRE(w.family("rf_big_total", MetricType::kCounter, "h"));
  // 2^64 - 1 is not representable as a double: a writer that went through
  // double would print 1.8446744073709552e+19.
  w.sample({{"k", "max"}}, std::numeric_limits<uint64_t>::max());
  w.sample({{"k", "2^53+1"}}, uint64_t{9007199254740993ull});
  REQUIRE(w.family("rf_g", MetricType::kGauge, "h"));
  w.sample({{"k", "a"}}, 0.1);
  w.sample({{"k", "b"}}, 1e300);
  w.sample({{"k", "c"}}, std::numeric_limits<double>::infinity());
  w.sample({{"k", "d"}}, -std::numeric_limits<double>::infinity());
  w.sample({{"k", "e"}}, std::numeric_limits<double>::quiet_NaN());
  w.sample({{"k", "f"}}, -2.0);
  const std::string& t = w.text();
  CHECK(t.find("rf_big_total{k=\"max\"} 18446744073709551615\n") != std::string::npos);
  CHECK(t.find("rf_big_total{k=\"2^53+1\"} 9007199254740993\n") != std::string::npos);
  CHECK(t.find("rf_g{k=\"a\"} 0.1\n") != std::string::npos);
  CHECK(t.find("rf_g{k=\"b\"} 1e+300\n") != std::string::npos);
  CHECK(t.find("rf_g{k=\"c\"} +Inf\n") != std::string::npos);
  CHECK(t.find("rf_g{k=\"d\"} -Inf\n") != std::string::npos);
  CHECK(t.find("rf_g{k=\"e\"} NaN\n") != std::string::npos);
  CHECK(t.find("rf_g{k=\"f\"} -2\n") != std::string::npos);
  CHECK(w.errors().empty());
}

TEST_CASE("label values and HELP text are escaped", "[metrics][writer]") {
  // Exposition format: label values escape \, " and newline; HELP escapes
  // \ and newline.
  PromWriter w;
  REQUIRE(w.family("rf_info", MetricType::kGauge, "line one\nback\\slash \"quoted\""));
  w.sample({{"name", "a\"b\\c\nd"}}, uint64_t{1});
  CHECK(w.text() ==
        "# HELP rf_info line one\\nback\\\\slash \"quoted\"\n"
        "# TYPE rf_info gauge\n"
        "rf_info{name=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("invalid names and repeated families and duplicate series are refused",
          "[metrics][writer]") {
  PromWriter w;
  CHECK_FALSE(w.family("", MetricType::kGauge, "h"));
  CHECK_FALSE(w.family("9lives", MetricType::kGauge, "h"));
  CHECK_FALSE(w.family("rf-dash", MetricType::kGauge, "h"));
  CHECK(w.family("rf:recorded_rule", MetricType::kGauge, "colons are legal in metric names"));
  w.sample({{"__reserved", "x"}}, uint64_t{1});  // "__" label names belong to Prometheus
  w.sample({{"a:b", "x"}}, uint64_t{1});         // colons are not legal in label names
  w.sample({{"a", "1"}, {"a", "2"}}, uint64_t{1});
  w.sample({{"a", "1"}}, uint64_t{1});
  w.sample({{"a", "1"}}, uint64_t{2});  // same series twice
  CHECK_FALSE(w.family("rf:recorded_rule", MetricType::kGauge, "again"));
  w.sample({{"a", "3"}}, uint64_t{3});  // follows a refused family
  CHECK(w.errors().size() == 9);
  CHECK(w.text() ==
        "# HELP rf:recorded_rule colons are legal in metric names\n"
        "# TYPE rf:recorded_rule gauge\n"
        "rf:recorded_rule{a=\"1\"} 1\n");
}

TEST_CASE("the same label set may appear in different families", "[metrics][writer]") {
  PromWriter w;
  REQUIRE(w.family("rf_a_total", MetricType::kCounter, "h"));
  w.sample({{"worker", "0"}}, uint64_t{1});
  REQUIRE(w.family("rf_b_total", MetricType::kCounter, "h"));
  w.sample({{"worker", "0"}}, uint64_t{2});
  CHECK(w.errors().empty());
  CHECK(w.text().find("rf_b_total{worker=\"0\"} 2\n") != std::string::npos);
}

TEST_CASE("a sample before any family is refused", "[metrics][writer]") {
  PromWriter w;
  w.sample(uint64_t{1});
  CHECK(w.text().empty());
  CHECK(w.errors().size() == 1);
}

TEST_CASE("/proc/<pid>/stat is parsed after the last parenthesis", "[metrics][process]") {
  // A process may name itself "a) b (c"; proc(5) fields follow the last ')'.
  // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
  // majflt cmajflt utime stime cutime cstime priority nice num_threads
  // itrealvalue starttime vsize rss ...
  const char* text =
      "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
      "250 50 0 0 20 0 7 0 12345 104857600 2560 18446744073709551615 1 1 0 0 0\n";
  ProcessStats s;
  REQUIRE(parse_proc_stat(text, 100, 4096, 1700000000.0, &s));
  CHECK(s.ok);
  CHECK(s.cpu_seconds == Approx(3.0));  // (250 + 50) / 100
  CHECK(s.threads == 7);
  CHECK(s.start_time_seconds == Approx(1700000000.0 + 123.45));
  CHECK(s.virtual_bytes == 104857600);
  CHECK(s.resident_bytes == 2560ull * 4096);

  ProcessStats bad;
  CHECK_FALSE(parse_proc_stat("4242 (x) S 1 2 3", 100, 4096, 0, &bad));
  CHECK_FALSE(parse_proc_stat("no parenthesis", 100, 4096, 0, &bad));
  CHECK_FALSE(bad.ok);
}

TEST_CASE("this process's own stats are plausible", "[metrics][process]") {
  ProcessStats s = read_process_stats();
  REQUIRE(s.ok);
  CHECK(s.threads >= 1);
  CHECK(s.resident_bytes > 0);
  CHECK(s.open_fds >= 3);  // stdin, stdout, stderr
  // Started within the last day, and not in the future.
  double now = static_cast<double>(time(nullptr));
  CHECK(s.start_time_seconds <= now + 1);
  CHECK(s.start_time_seconds > now - 86400);
}

namespace {
struct Row {
  uint64_t total;
  uint64_t by[2][3];
};
std::string_view dim_value(size_t i, size_t k) {
  constexpr std::string_view kA[] = {"a0", "a1"}, kB[] = {"b0", "b1", "b2"};
  return k == 0 ? kA[i / 3] : kB[i % 3];
}
constexpr SeriesFamily<Row> kSeriesTable[] = {
    {.name = "rf_total", .type = kCounter, .help = "One sample.",
     .value = [](const Row& r, size_t) { return r.total; }},
    {.name = "rf_by_b", .type = kGauge, .help = "b1 and b2 of a0.",
     .value = [](const Row& r, size_t i) { return r.by[0][i]; },
     .series = 3, .label_names = {"b"},
     .label_value = [](size_t i, size_t) { return dim_value(i, 1); }, .first = 1},
    {.name = "rf_by_ab_total", .type = kCounter, .help = "Non-zero pairs only.",
     .value = [](const Row& r, size_t i) { return r.by[i / 3][i % 3]; },
     .series = 6, .label_names = {"a", "b"}, .label_value = dim_value,
     .present = [](const Row& r, size_t i) { return r.by[i / 3][i % 3] != 0; }},
};
}  // namespace

TEST_CASE("a SeriesFamily table writes its series with their labels, from first, when present",
          "[metrics][family]") {
  const Row row{7, {{1, 0, 3}, {0, 5, 0}}};
  PromWriter w;
  write_series_families(w, kSeriesTable, row);
  CHECK(w.text() ==
        "# HELP rf_total One sample.\n"
        "# TYPE rf_total counter\n"
        "rf_total 7\n"
        "# HELP rf_by_b b1 and b2 of a0.\n"
        "# TYPE rf_by_b gauge\n"
        "rf_by_b{b=\"b1\"} 0\n"
        "rf_by_b{b=\"b2\"} 3\n"
        "# HELP rf_by_ab_total Non-zero pairs only.\n"
        "# TYPE rf_by_ab_total counter\n"
        "rf_by_ab_total{a=\"a0\",b=\"b0\"} 1\n"
        "rf_by_ab_total{a=\"a0\",b=\"b2\"} 3\n"
        "rf_by_ab_total{a=\"a1\",b=\"b1\"} 5\n");
  CHECK(w.errors().empty());
}

TEST_CASE("a duplicate among many series is refused, a label set that starts another is not",
          "[metrics][writer]") {
  // begin_sample() keeps hashes and confirms a repeated one against the
  // family's text: this pins what the set of strings it replaced did.
  PromWriter w;
  REQUIRE(w.family("rf_streams", MetricType::kGauge, "h"));
  for (int i = 0; i < 2000; ++i) w.sample({{"exporter", std::to_string(i)}}, uint64_t(i));
  w.sample({{"exporter", "1"}, {"domain", "0"}}, uint64_t{7});  // starts like exporter="1"
  w.sample({{"exporter", "10"}}, uint64_t{8});                   // written before: refused
  w.sample({{"exporter", "1999"}}, uint64_t{9});                 // the last one: refused
  REQUIRE(w.family("rf_other", MetricType::kGauge, "h"));
  w.sample({{"exporter", "10"}}, uint64_t{1});  // another family: a series of its own
  CHECK(w.errors().size() == 2);
  CHECK(w.errors()[0] == "rf_streams: duplicate series rf_streams{exporter=\"10\"}");
  CHECK(w.text().find("rf_streams{exporter=\"1\",domain=\"0\"} 7\n") != std::string::npos);
  CHECK(w.text().find("rf_streams{exporter=\"10\"} 8\n") == std::string::npos);
  CHECK(w.text().find("rf_other{exporter=\"10\"} 1\n") != std::string::npos);
}
