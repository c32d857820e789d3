// CPU lists (src/common/cpu_list.h) and the keys that take them,
// receive.reactor_cpus and receive.worker_cpus: what is accepted, and the
// error a bad list gets.
#include <catch2/catch.hpp>

#include <ringflow/config.h>

#include "common/cpu_list.h"

using namespace ringflow;

namespace {

std::vector<uint32_t> cpus(const std::string& text) {
  std::vector<uint32_t> out;
  INFO(text);
  REQUIRE(parse_cpu_list(text, &out).empty());
  return out;
}

std::string reason(const std::string& text) {
  std::vector<uint32_t> out = {99};
  std::string why = parse_cpu_list(text, &out);
  CHECK(out == std::vector<uint32_t>{99});  // untouched on failure
  return why;
}

}  // namespace

TEST_CASE("CPU lists: numbers and ranges, sorted, duplicates merged", "[config][cpus]") {
  CHECK(cpus("0") == std::vector<uint32_t>{0});
  CHECK(cpus("3,1") == std::vector<uint32_t>{1, 3});
  CHECK(cpus("0-3,8,10-11") == std::vector<uint32_t>{0, 1, 2, 3, 8, 10, 11});
  CHECK(cpus("2-2,2") == std::vector<uint32_t>{2});
  CHECK(cpus("1023").back() == 1023);
  CHECK(format_cpu_list({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8");
  CHECK(format_cpu_list({}) == "");
  CHECK(format_cpu_list(cpus("0-3,8,10-11")) == "0-3,8,10-11");
}

TEST_CASE("CPU lists: every malformed one says why", "[config][cpus]") {
  CHECK(reason("") == "empty CPU list");
  CHECK(reason("1,,2") == "empty item in CPU list");
  CHECK(reason("1,") == "empty item in CPU list");
  CHECK(reason("5-2") == "range 5-2 runs backwards");
  CHECK(reason("a") == "'a' is not a CPU number");
  CHECK(reason("1-") == "empty CPU number");
  CHECK(reason(" 1") == "' 1' is not a CPU number");
  CHECK(reason("-1") == "empty CPU number");
  CHECK(reason("1024") == "CPU 1024 is out of range 0..1023");
  CHECK(reason("0-99999999999999999999") == "'99999999999999999999' is not a CPU number");
}

TEST_CASE("The process may use at least one CPU, and a thread pins to one of them",
          "[config][cpus]") {
  const std::vector<uint32_t> allowed = allowed_cpus();
  REQUIRE_FALSE(allowed.empty());
  std::string error;
  CHECK(pin_thread(pthread_self(), {allowed[0]}, &error));
  CHECK(allowed_cpus() == std::vector<uint32_t>{allowed[0]});
  CHECK(pin_thread(pthread_self(), allowed, &error));  // as it was
  CHECK(allowed_cpus() == allowed);
  // No allowed CPU at all: the kernel refuses, and the error says which.
  CHECK_FALSE(pin_thread(pthread_self(), {kMaxCpus - 1}, &error));
  CHECK(error.find("pthread_setaffinity_np(1023)") == 0);
}

TEST_CASE("reactor_cpus and worker_cpus: defaults, values and errors", "[config][cpus]") {
  ConfigResult ok = load_config_string(
      "[receive]\nreactor_cpus = [\"0\", \"1\"]\nworker_cpus = [\"2-7\", \"2-7\"]\n", "t.toml");
  REQUIRE(ok.ok());
  CHECK(ok.config.receive.reactor_cpus == std::vector<std::string>{"0", "1"});
  CHECK(ok.config.receive.worker_cpus == std::vector<std::string>{"2-7", "2-7"});
  ConfigResult def = load_config_string("", "t.toml");
  REQUIRE(def.ok());
  CHECK(def.config.receive.reactor_cpus.empty());
  CHECK(def.config.receive.worker_cpus.empty());
  CHECK(def.config.receive.reactors == 0);  // auto, resolved at start
  CHECK(def.config.receive.workers == 0);

  ConfigResult bad = load_config_string("[receive]\nworker_cpus = [\"1\", \"3-1\"]\n", "t.toml");
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].str() ==
        "t.toml:2:21: receive.worker_cpus[1]: expected CPU list such as \"0\", \"2-5\" or "
        "\"0,2,4-7\", found \"3-1\" (range 3-1 runs backwards)");
  ConfigResult type = load_config_string("[receive]\nreactor_cpus = \"0\"\n", "t.toml");
  REQUIRE(type.errors.size() == 1);
  CHECK(type.errors[0].str().find("receive.reactor_cpus: expected array of CPU lists, found") !=
        std::string::npos);
}
