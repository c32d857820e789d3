#include "enrich/snmp_walk.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <sys/select.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace ringflow::enrich {
namespace {

// IF-MIB ifXTable columns, in walk order.
constexpr oid kIfXEntry[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1};
constexpr size_t kIfXEntryLen = sizeof(kIfXEntry) / sizeof(oid);
constexpr oid kColumns[] = {1 /* ifName */, 18 /* ifAlias */, 15 /* ifHighSpeed */};
constexpr size_t kColumnCount = sizeof(kColumns) / sizeof(oid);
constexpr long kRepetitions = 16;
constexpr size_t kMaxString = 255;

int trampoline(int op, netsnmp_session* s, int reqid, netsnmp_pdu* pdu, void* magic);

bool under_column(const netsnmp_variable_list* vb, size_t column) {
  if (vb->name_length != kIfXEntryLen + 2) return false;
  if (std::memcmp(vb->name, kIfXEntry, sizeof(kIfXEntry)) != 0) return false;
  return vb->name[kIfXEntryLen] == kColumns[column];
}

bool is_auth_error(int e) {
  switch (e) {
    case SNMPERR_AUTHENTICATION_FAILURE:
    case SNMPERR_UNKNOWN_USER_NAME:
    case SNMPERR_UNSUPPORTED_SEC_LEVEL:
    case SNMPERR_DECRYPTION_ERR:
    case SNMPERR_USM_GENERICERROR:
    case SNMPERR_USM_UNKNOWNSECURITYNAME:
    case SNMPERR_USM_UNSUPPORTEDSECURITYLEVEL:
    case SNMPERR_USM_AUTHENTICATIONFAILURE:
    case SNMPERR_USM_DECRYPTIONERROR:
    case SNMPERR_KRB5:
    case SNMPERR_BAD_SEC_LEVEL:
    case SNMPERR_BAD_SEC_NAME:
      return true;
    default:
      return false;
  }
}

std::string peer_name(const IpAddr& a, uint32_t port) {
  if (a.is_v4()) return "udp:" + a.str() + ":" + std::to_string(port);
  return "udp6:[" + a.str() + "]:" + std::to_string(port);
}

}  // namespace

void snmp_library_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Nothing from /etc/snmp or ~/.snmp, nothing persisted, no MIB files:
    // the OIDs are numeric and the credentials come from ringflow's config.
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_set_mib_directory("");
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
    // Failures are counted and logged by the poller, not printed by the
    // library: one handler that drops everything (with none, net-snmp falls
    // back to stderr, e.g. for the MIB modules it cannot find).
    netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_DEBUG);
    init_snmp("ringflow");
  });
}

SnmpWalk::SnmpWalk(const Params& p) : p_(p) {
  netsnmp_session s;
  snmp_sess_init(&s);
  const std::string peer = peer_name(p.address, p.agent.port);
  s.peername = const_cast<char*>(peer.c_str());
  s.timeout = static_cast<long>(p.timeout_ms) * 1000;
  s.retries = static_cast<int>(p.retries);
  s.callback = trampoline;
  s.callback_magic = this;
  const SnmpAgentConfig& a = p.agent;
  if (a.version == "3") {
    s.version = SNMP_VERSION_3;
    s.flags |= SNMP_FLAGS_DONT_PROBE;
    s.securityName = const_cast<char*>(a.user.c_str());
    s.securityNameLen = a.user.size();
    s.securityLevel = a.level == "noAuthNoPriv" ? SNMP_SEC_LEVEL_NOAUTH
                      : a.level == "authNoPriv" ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                                : SNMP_SEC_LEVEL_AUTHPRIV;
    if (s.securityLevel != SNMP_SEC_LEVEL_NOAUTH) {
      const int auth = usm_lookup_auth_type(a.auth_protocol.c_str());
      size_t len = 0;
      oid* proto = auth < 0 ? nullptr : sc_get_auth_oid(auth, &len);
      if (!proto) {
        finish(SnmpResult::kAuth, "unknown auth protocol " + a.auth_protocol);
        return;
      }
      s.securityAuthProto = snmp_duplicate_objid(proto, len);
      s.securityAuthProtoLen = len;
      s.securityAuthKeyLen = USM_AUTH_KU_LEN;
      if (generate_Ku(s.securityAuthProto, static_cast<u_int>(len),
                      reinterpret_cast<const u_char*>(a.auth_password.data()),
                      a.auth_password.size(), s.securityAuthKey,
                      &s.securityAuthKeyLen) != SNMPERR_SUCCESS) {
        SNMP_FREE(s.securityAuthProto);
        finish(SnmpResult::kAuth, "cannot make the auth key (password under 8 characters?)");
        return;
      }
      if (s.securityLevel == SNMP_SEC_LEVEL_AUTHPRIV) {
        const int priv = usm_lookup_priv_type(a.priv_protocol.c_str());
        size_t plen = 0;
        oid* pproto = priv < 0 ? nullptr : sc_get_priv_oid(priv, &plen);
        if (!pproto) {
          SNMP_FREE(s.securityAuthProto);
          finish(SnmpResult::kAuth, "unknown privacy protocol " + a.priv_protocol);
          return;
        }
        s.securityPrivProto = snmp_duplicate_objid(pproto, plen);
        s.securityPrivProtoLen = plen;
        s.securityPrivKeyLen = USM_PRIV_KU_LEN;
        if (generate_Ku(s.securityAuthProto, static_cast<u_int>(len),
                        reinterpret_cast<const u_char*>(a.priv_password.data()),
                        a.priv_password.size(), s.securityPrivKey,
                        &s.securityPrivKeyLen) != SNMPERR_SUCCESS) {
          SNMP_FREE(s.securityAuthProto);
          SNMP_FREE(s.securityPrivProto);
          finish(SnmpResult::kAuth, "cannot make the privacy key (password under 8 characters?)");
          return;
        }
      }
    }
  } else {
    s.version = SNMP_VERSION_2c;
    s.community = reinterpret_cast<u_char*>(const_cast<char*>(a.community.data()));
    s.community_len = a.community.size();
  }
  sess_ = snmp_sess_open(&s);  // copies what it keeps
  SNMP_FREE(s.securityAuthProto);
  SNMP_FREE(s.securityPrivProto);
  if (!sess_) {
    int liberr = 0, syserr = 0;
    char* text = nullptr;
    snmp_error(&s, &liberr, &syserr, &text);
    std::string why = text ? text : "cannot open the session";
    SNMP_FREE(text);
    finish(is_auth_error(liberr) ? SnmpResult::kAuth : SnmpResult::kError, why);
    return;
  }
  send_next();
}

SnmpWalk::~SnmpWalk() {
  if (sess_) snmp_sess_close(sess_);
}

int SnmpWalk::fd() const {
  if (done_ || !sess_) return -1;
  netsnmp_transport* t = snmp_sess_transport(sess_);
  return t ? t->sock : -1;
}

void SnmpWalk::on_readable() {
  const int s = fd();
  if (s < 0 || s >= FD_SETSIZE) return;
  fd_set set;
  FD_ZERO(&set);
  FD_SET(s, &set);
  snmp_sess_read(sess_, &set);
  if (send_pending_) send_next();
}

void SnmpWalk::on_tick() {
  if (done_ || !sess_) return;
  snmp_sess_timeout(sess_);
  if (send_pending_) send_next();
}

void SnmpWalk::finish(SnmpResult r, std::string why) {
  done_ = true;
  send_pending_ = false;
  result_ = r;
  detail_ = std::move(why);
}

void SnmpWalk::send_next() {
  send_pending_ = false;
  if (done_) return;
  const size_t max_requests = p_.max_interfaces / kRepetitions + 2;
  if (column_requests_ >= max_requests) {
    // Only an agent that keeps answering inside the column gets here.
    cut_ = true;
    if (++column_ == kColumnCount) return finish(SnmpResult::kTooManyInterfaces, "");
    column_requests_ = 0;
    last_index_ = 0;
  }
  netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
  pdu->non_repeaters = 0;
  pdu->max_repetitions = kRepetitions;
  oid name[kIfXEntryLen + 2];
  std::memcpy(name, kIfXEntry, sizeof(kIfXEntry));
  name[kIfXEntryLen] = kColumns[column_];
  size_t len = kIfXEntryLen + 1;
  if (last_index_) name[len++] = last_index_;
  snmp_add_null_var(pdu, name, len);
  ++requests_;
  ++column_requests_;
  if (snmp_sess_async_send(sess_, pdu, trampoline, this) == 0) {
    int liberr = 0, syserr = 0;
    char* text = nullptr;
    snmp_sess_error(sess_, &liberr, &syserr, &text);
    std::string why = text ? text : "send failed";
    SNMP_FREE(text);
    snmp_free_pdu(pdu);
    finish(is_auth_error(liberr) ? SnmpResult::kAuth : SnmpResult::kError, why);
  }
}

void SnmpWalk::handle(int op, void* raw) {
  if (done_) return;
  auto* pdu = static_cast<netsnmp_pdu*>(raw);
  if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) return finish(SnmpResult::kTimeout, "no answer");
  if (op == NETSNMP_CALLBACK_OP_SEC_ERROR) return finish(SnmpResult::kAuth, "security error");
  if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !pdu)
    return finish(SnmpResult::kError, "send failed or session closed");
  if (pdu->command == SNMP_MSG_REPORT) {
    const int e = snmpv3_get_report_type(pdu);
    return finish(is_auth_error(e) ? SnmpResult::kAuth : SnmpResult::kError,
                  std::string("report: ") + snmp_api_errstring(e));
  }
  if (pdu->errstat != SNMP_ERR_NOERROR) {
    if (pdu->errstat == SNMP_ERR_NOSUCHNAME && column_ == 0 && ifaces_.empty())
      return finish(SnmpResult::kNoSuchObject, "no ifName");
    return finish(SnmpResult::kError,
                  std::string("error status: ") + snmp_errstring(static_cast<int>(pdu->errstat)));
  }
  bool column_done = pdu->variables == nullptr;
  for (netsnmp_variable_list* vb = pdu->variables; vb && !column_done; vb = vb->next_variable) {
    if (vb->type == SNMP_ENDOFMIBVIEW || vb->type == SNMP_NOSUCHOBJECT ||
        vb->type == SNMP_NOSUCHINSTANCE || !under_column(vb, column_)) {
      column_done = true;
      break;
    }
    const uint32_t idx = static_cast<uint32_t>(vb->name[kIfXEntryLen + 1]);
    if (idx <= last_index_) {  // not increasing: a broken agent; stop this column
      column_done = true;
      break;
    }
    last_index_ = idx;
    SnmpIface* iface = nullptr;
    if (auto it = ifaces_.find(idx); it != ifaces_.end()) {
      iface = &it->second;
    } else if (ifaces_.size() < p_.max_interfaces) {
      iface = &ifaces_[idx];
    } else {
      cut_ = true;  // beyond the bound: not kept
    }
    if (!iface) continue;
    if (column_ == 2) {
      if (vb->type == ASN_GAUGE || vb->type == ASN_INTEGER || vb->type == ASN_UNSIGNED) {
        iface->speed_mbps = static_cast<uint32_t>(*vb->val.integer);
        iface->has_speed = true;
      }
    } else if (vb->type == ASN_OCTET_STR) {
      std::string v(reinterpret_cast<const char*>(vb->val.string),
                    std::min<size_t>(vb->val_len, kMaxString));
      (column_ == 0 ? iface->name : iface->alias) = std::move(v);
    }
  }
  if (column_done) {
    if (column_ == 0 && ifaces_.empty()) return finish(SnmpResult::kNoSuchObject, "no ifName");
    if (++column_ == kColumnCount)
      return finish(cut_ ? SnmpResult::kTooManyInterfaces : SnmpResult::kOk, "");
    last_index_ = 0;
    column_requests_ = 0;
  }
  send_pending_ = true;  // sent by the caller of snmp_sess_read / _timeout
}

int SnmpWalk::callback(int op, void* pdu, void* self) {
  static_cast<SnmpWalk*>(self)->handle(op, pdu);
  return 1;
}

namespace {
int trampoline(int op, netsnmp_session*, int, netsnmp_pdu* pdu, void* magic) {
  return SnmpWalk::callback(op, pdu, magic);
}
}  // namespace

}  // namespace ringflow::enrich
