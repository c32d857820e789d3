// [enrich.snmp] and [[enrich.snmp.agent]]: values reach SnmpConfig, the
// cross-key rules refuse what cannot poll, secrets are masked in the dump
// and the dump loads back to the same config.
#include <catch2/catch.hpp>

#include <string>

#include <ringflow/config.h>

using namespace ringflow;

namespace {

std::string all_errors(const ConfigResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.str() + "\n";
  return s;
}

const char* kGood = R"([enrich.snmp]
enabled = true
refresh = 600
timeout_ms = 250
max_concurrent = 8
[[enrich.snmp.agent]]
exporters = ["192.0.2.0/24"]
community = "s3cret-community"
[[enrich.snmp.agent]]
exporters = ["2001:db8::/32", "198.51.100.7/32"]
port = 1161
version = "3"
user = "ringflow"
auth_protocol = "SHA-256"
auth_password = "auth-passphrase"
priv_password = "priv-passphrase"
)";

}  // namespace

TEST_CASE("SNMP config: values reach SnmpConfig, secrets masked, the dump loads back",
          "[config][snmp]") {
  ConfigResult r = load_config_string(kGood, "snmp.toml");
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const SnmpConfig& s = r.config.enrich.snmp;
  CHECK(s.enabled);
  CHECK(s.refresh_s == 600);
  CHECK(s.timeout_ms == 250);
  CHECK(s.max_concurrent == 8);
  CHECK(s.retries == 1);  // default
  REQUIRE(s.agents.size() == 2);
  CHECK(s.agents[0].version == "2c");
  CHECK(s.agents[0].port == 161);
  CHECK(s.agents[0].community == "s3cret-community");
  REQUIRE(s.agents[1].exporters.size() == 2);
  CHECK(s.agents[1].exporters[1].str() == "198.51.100.7/32");
  CHECK(s.agents[1].port == 1161);
  CHECK(s.agents[1].auth_protocol == "SHA-256");
  CHECK(s.agents[1].priv_protocol == "AES");
  CHECK(s.agents[1].level == "authPriv");
  CHECK(r.config.enrich.any());

  const std::string dump = dump_config(r.config);
  CHECK(dump.find("s3cret-community") == std::string::npos);
  CHECK(dump.find("auth-passphrase") == std::string::npos);
  CHECK(dump.find("priv-passphrase") == std::string::npos);
  CHECK(dump.find("[[enrich.snmp.agent]]") != std::string::npos);
  // Masked secrets load back as "********": the rest must be the same.
  ConfigResult again = load_config_string(dump, "dump.toml");
  INFO(all_errors(again) << dump);
  REQUIRE(again.ok());
  const SnmpConfig& t = again.config.enrich.snmp;
  CHECK(t.enabled);
  CHECK(t.refresh_s == 600);
  REQUIRE(t.agents.size() == 2);
  CHECK(t.agents[1].user == "ringflow");
  CHECK(t.agents[1].exporters.size() == 2);
}

TEST_CASE("SNMP config: what cannot poll is refused with the key", "[config][snmp]") {
  auto errors = [](const std::string& toml) {
    return all_errors(load_config_string(toml, "t.toml"));
  };
  CHECK(errors("[enrich.snmp]\nenabled = true\n").find("enrich.snmp.enabled") != std::string::npos);
  CHECK(errors("[enrich.snmp]\nenabled = true\n[[enrich.snmp.agent]]\nexporters = "
               "[\"10.0.0.0/8\"]\n")
            .find("enrich.snmp.agent[0].community") != std::string::npos);
  CHECK(errors("[enrich.snmp]\nenabled = true\n[[enrich.snmp.agent]]\nexporters = "
               "[\"10.0.0.0/8\"]\nversion = \"3\"\nuser = \"u\"\nauth_password = \"short\"\n"
               "priv_password = \"long-enough\"\n")
            .find("enrich.snmp.agent[0].auth_password") != std::string::npos);
  CHECK(errors("[enrich.snmp]\nenabled = true\n[[enrich.snmp.agent]]\ncommunity = \"c\"\n")
            .find("exporters") != std::string::npos);  // required
  CHECK(errors("[enrich.snmp]\nenabeld = true\n").find("did you mean 'enrich.snmp.enabled'") !=
        std::string::npos);
  CHECK(errors("[enrich.snmp]\n[[enrich.snmp.agent]]\nexporters = [\"10.0.0.0/8\"]\n"
               "version = \"1\"\ncommunity = \"c\"\n")
            .find("enrich.snmp.agent[0].version") != std::string::npos);
  // in_if_speed needs the catalogue, or SNMP (in_if_name is also learnt from
  // options data: decode.max_interface_names, on by default).
  CHECK(errors("[aggregate]\nkey = [\"in_if_speed\"]\n").find("enrich.catalogue") !=
        std::string::npos);
  CHECK(errors("[aggregate]\nkey = [\"in_if_speed\"]\n[enrich.snmp]\nenabled = true\n"
               "[[enrich.snmp.agent]]\nexporters = [\"10.0.0.0/8\"]\ncommunity = \"c\"\n")
            .empty());
  CHECK(errors("[aggregate]\nkey = [\"in_if_boundary\"]\n[enrich.snmp]\nenabled = true\n"
               "[[enrich.snmp.agent]]\nexporters = [\"10.0.0.0/8\"]\ncommunity = \"c\"\n")
            .find("enrich.catalogue") != std::string::npos);
}
