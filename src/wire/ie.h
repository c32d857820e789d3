// Information Elements: the numbered fields of NetFlow v9 templates and IPFIX
// templates (IANA "IPFIX Information Elements" registry; v9 field types 1..127
// share these numbers, RFC 3954 section 8). This table names the elements
// ringflow decodes (src/decode/decode_plan.cc maps them onto FlowRecord) or
// ringflow-gen writes (src/gen/), with their abstract type and the length of
// their full-size encoding. Elements not listed are skipped by length.
//
// Thread safety: constants only.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringflow::ie {

enum class Type : uint8_t {
  kUnsigned,     // unsigned8..64: reduced-size encoding allowed (1..8 bytes)
  kFloat,        // float64
  kIpv4,         // 4 bytes
  kIpv6,         // 16 bytes
  kMac,          // 6 bytes
  kSeconds,      // dateTimeSeconds: 32-bit seconds since 1970
  kMillis,       // dateTimeMilliseconds: 64-bit ms since 1970
  kMicros,       // dateTimeMicroseconds: NTP format (32.32 since 1900)
  kNanos,        // dateTimeNanoseconds: NTP format (32.32 since 1900)
  kString,       // UTF-8, usually variable length
  kOctets,       // octetArray
};

// Element ids, by their IANA names.
inline constexpr uint16_t kOctetDeltaCount = 1, kPacketDeltaCount = 2, kDeltaFlowCount = 3,
    kProtocolIdentifier = 4, kIpClassOfService = 5, kTcpControlBits = 6,
    kSourceTransportPort = 7, kSourceIPv4Address = 8, kSourceIPv4PrefixLength = 9,
    kIngressInterface = 10, kDestinationTransportPort = 11, kDestinationIPv4Address = 12,
    kDestinationIPv4PrefixLength = 13, kEgressInterface = 14, kIpNextHopIPv4Address = 15,
    kBgpSourceAsNumber = 16, kBgpDestinationAsNumber = 17, kBgpNextHopIPv4Address = 18,
    kFlowEndSysUpTime = 21, kFlowStartSysUpTime = 22, kPostOctetDeltaCount = 23,
    kPostPacketDeltaCount = 24, kSourceIPv6Address = 27, kDestinationIPv6Address = 28,
    kSourceIPv6PrefixLength = 29, kDestinationIPv6PrefixLength = 30, kFlowLabelIPv6 = 31,
    kIcmpTypeCodeIPv4 = 32, kSamplingInterval = 34, kSamplingAlgorithm = 35,
    kSamplerId = 48, kSamplerMode = 49, kSamplerRandomInterval = 50,
    kSourceMacAddress = 56, kVlanId = 58, kPostVlanId = 59, kIpVersion = 60,
    kFlowDirection = 61, kIpNextHopIPv6Address = 62, kBgpNextHopIPv6Address = 63,
    kDestinationMacAddress = 80, kInterfaceName = 82, kInterfaceDescription = 83,
    kSamplerName = 84, kOctetTotalCount = 85,
    kPacketTotalCount = 86, kApplicationId = 95, kApplicationName = 96,
    kExporterIPv4Address = 130, kExporterIPv6Address = 131, kFlowEndReason = 136,
    kIcmpTypeCodeIPv6 = 139, kFlowId = 148, kFlowStartSeconds = 150, kFlowEndSeconds = 151,
    kFlowStartMilliseconds = 152, kFlowEndMilliseconds = 153, kFlowStartMicroseconds = 154,
    kFlowEndMicroseconds = 155, kFlowStartNanoseconds = 156, kFlowEndNanoseconds = 157,
    kFlowStartDeltaMicroseconds = 158, kFlowEndDeltaMicroseconds = 159,
    kSystemInitTimeMilliseconds = 160, kIcmpTypeIPv4 = 176, kIcmpCodeIPv4 = 177,
    kIcmpTypeIPv6 = 178, kIcmpCodeIPv6 = 179, kPostNATSourceIPv4Address = 225,
    kPostNATDestinationIPv4Address = 226, kPostNAPTSourceTransportPort = 227,
    kPostNAPTDestinationTransportPort = 228, kInitiatorOctets = 231, kResponderOctets = 232,
    kFirewallEvent = 233, kDot1qVlanId = 243, kIngressPhysicalInterface = 252,
    kEgressPhysicalInterface = 253, kInitiatorPackets = 298, kResponderPackets = 299,
    kSelectorId = 302, kSelectorAlgorithm = 304, kSamplingPacketInterval = 305,
    kSamplingPacketSpace = 306, kSamplingTimeInterval = 307, kSamplingTimeSpace = 308,
    kSamplingSize = 309, kSamplingPopulation = 310, kSamplingProbability = 311,
    kSelectorName = 335;
// Packet sections (RFC 7133; v9 102-104, NetFlow-Lite): bytes of a sampled
// packet instead of flow fields (src/decode/decode_plan.h).
inline constexpr uint16_t kLayer2PacketSectionOffset = 102, kLayer2PacketSectionSize = 103,
                          kLayer2PacketSectionData = 104, kIpTotalLength = 224,
                          kDataLinkFrameSize = 312, kIpHeaderPacketSection = 313,
                          kDataLinkFrameSection = 315, kMplsLabelStackSection = 316;

struct Info {
  uint16_t id;
  uint16_t length;  // full-size encoding in bytes; 0 = variable (strings, octet arrays)
  Type type;
  std::string_view name;
};

inline constexpr Info kElements[] = {
    {kOctetDeltaCount, 8, Type::kUnsigned, "octetDeltaCount"},
    {kPacketDeltaCount, 8, Type::kUnsigned, "packetDeltaCount"},
    {kDeltaFlowCount, 8, Type::kUnsigned, "deltaFlowCount"},
    {kProtocolIdentifier, 1, Type::kUnsigned, "protocolIdentifier"},
    {kIpClassOfService, 1, Type::kUnsigned, "ipClassOfService"},
    {kTcpControlBits, 2, Type::kUnsigned, "tcpControlBits"},
    {kSourceTransportPort, 2, Type::kUnsigned, "sourceTransportPort"},
    {kSourceIPv4Address, 4, Type::kIpv4, "sourceIPv4Address"},
    {kSourceIPv4PrefixLength, 1, Type::kUnsigned, "sourceIPv4PrefixLength"},
    {kIngressInterface, 4, Type::kUnsigned, "ingressInterface"},
    {kDestinationTransportPort, 2, Type::kUnsigned, "destinationTransportPort"},
    {kDestinationIPv4Address, 4, Type::kIpv4, "destinationIPv4Address"},
    {kDestinationIPv4PrefixLength, 1, Type::kUnsigned, "destinationIPv4PrefixLength"},
    {kEgressInterface, 4, Type::kUnsigned, "egressInterface"},
    {kIpNextHopIPv4Address, 4, Type::kIpv4, "ipNextHopIPv4Address"},
    {kBgpSourceAsNumber, 4, Type::kUnsigned, "bgpSourceAsNumber"},
    {kBgpDestinationAsNumber, 4, Type::kUnsigned, "bgpDestinationAsNumber"},
    {kBgpNextHopIPv4Address, 4, Type::kIpv4, "bgpNextHopIPv4Address"},
    {kFlowEndSysUpTime, 4, Type::kUnsigned, "flowEndSysUpTime"},
    {kFlowStartSysUpTime, 4, Type::kUnsigned, "flowStartSysUpTime"},
    {kPostOctetDeltaCount, 8, Type::kUnsigned, "postOctetDeltaCount"},
    {kPostPacketDeltaCount, 8, Type::kUnsigned, "postPacketDeltaCount"},
    {kSourceIPv6Address, 16, Type::kIpv6, "sourceIPv6Address"},
    {kDestinationIPv6Address, 16, Type::kIpv6, "destinationIPv6Address"},
    {kSourceIPv6PrefixLength, 1, Type::kUnsigned, "sourceIPv6PrefixLength"},
    {kDestinationIPv6PrefixLength, 1, Type::kUnsigned, "destinationIPv6PrefixLength"},
    {kFlowLabelIPv6, 4, Type::kUnsigned, "flowLabelIPv6"},
    {kIcmpTypeCodeIPv4, 2, Type::kUnsigned, "icmpTypeCodeIPv4"},
    {kSamplingInterval, 4, Type::kUnsigned, "samplingInterval"},
    {kSamplingAlgorithm, 1, Type::kUnsigned, "samplingAlgorithm"},
    {kSamplerId, 1, Type::kUnsigned, "samplerId"},
    {kSamplerMode, 1, Type::kUnsigned, "samplerMode"},
    {kSamplerRandomInterval, 4, Type::kUnsigned, "samplerRandomInterval"},
    {kSourceMacAddress, 6, Type::kMac, "sourceMacAddress"},
    {kVlanId, 2, Type::kUnsigned, "vlanId"},
    {kPostVlanId, 2, Type::kUnsigned, "postVlanId"},
    {kIpVersion, 1, Type::kUnsigned, "ipVersion"},
    {kFlowDirection, 1, Type::kUnsigned, "flowDirection"},
    {kIpNextHopIPv6Address, 16, Type::kIpv6, "ipNextHopIPv6Address"},
    {kBgpNextHopIPv6Address, 16, Type::kIpv6, "bgpNextHopIPv6Address"},
    {kDestinationMacAddress, 6, Type::kMac, "destinationMacAddress"},
    {kSamplerName, 0, Type::kString, "samplerName"},
    {kOctetTotalCount, 8, Type::kUnsigned, "octetTotalCount"},
    {kPacketTotalCount, 8, Type::kUnsigned, "packetTotalCount"},
    {kApplicationId, 0, Type::kOctets, "applicationId"},
    {kApplicationName, 0, Type::kString, "applicationName"},
    {kExporterIPv4Address, 4, Type::kIpv4, "exporterIPv4Address"},
    {kExporterIPv6Address, 16, Type::kIpv6, "exporterIPv6Address"},
    {kFlowEndReason, 1, Type::kUnsigned, "flowEndReason"},
    {kIcmpTypeCodeIPv6, 2, Type::kUnsigned, "icmpTypeCodeIPv6"},
    {kFlowId, 8, Type::kUnsigned, "flowId"},
    {kFlowStartSeconds, 4, Type::kSeconds, "flowStartSeconds"},
    {kFlowEndSeconds, 4, Type::kSeconds, "flowEndSeconds"},
    {kFlowStartMilliseconds, 8, Type::kMillis, "flowStartMilliseconds"},
    {kFlowEndMilliseconds, 8, Type::kMillis, "flowEndMilliseconds"},
    {kFlowStartMicroseconds, 8, Type::kMicros, "flowStartMicroseconds"},
    {kFlowEndMicroseconds, 8, Type::kMicros, "flowEndMicroseconds"},
    {kFlowStartNanoseconds, 8, Type::kNanos, "flowStartNanoseconds"},
    {kFlowEndNanoseconds, 8, Type::kNanos, "flowEndNanoseconds"},
    {kFlowStartDeltaMicroseconds, 4, Type::kUnsigned, "flowStartDeltaMicroseconds"},
    {kFlowEndDeltaMicroseconds, 4, Type::kUnsigned, "flowEndDeltaMicroseconds"},
    {kSystemInitTimeMilliseconds, 8, Type::kMillis, "systemInitTimeMilliseconds"},
    {kIcmpTypeIPv4, 1, Type::kUnsigned, "icmpTypeIPv4"},
    {kIcmpCodeIPv4, 1, Type::kUnsigned, "icmpCodeIPv4"},
    {kIcmpTypeIPv6, 1, Type::kUnsigned, "icmpTypeIPv6"},
    {kIcmpCodeIPv6, 1, Type::kUnsigned, "icmpCodeIPv6"},
    {kPostNATSourceIPv4Address, 4, Type::kIpv4, "postNATSourceIPv4Address"},
    {kPostNATDestinationIPv4Address, 4, Type::kIpv4, "postNATDestinationIPv4Address"},
    {kPostNAPTSourceTransportPort, 2, Type::kUnsigned, "postNAPTSourceTransportPort"},
    {kPostNAPTDestinationTransportPort, 2, Type::kUnsigned, "postNAPTDestinationTransportPort"},
    {kInitiatorOctets, 8, Type::kUnsigned, "initiatorOctets"},
    {kResponderOctets, 8, Type::kUnsigned, "responderOctets"},
    {kFirewallEvent, 1, Type::kUnsigned, "firewallEvent"},
    {kDot1qVlanId, 2, Type::kUnsigned, "dot1qVlanId"},
    {kIngressPhysicalInterface, 4, Type::kUnsigned, "ingressPhysicalInterface"},
    {kEgressPhysicalInterface, 4, Type::kUnsigned, "egressPhysicalInterface"},
    {kInitiatorPackets, 8, Type::kUnsigned, "initiatorPackets"},
    {kResponderPackets, 8, Type::kUnsigned, "responderPackets"},
    {kSelectorId, 8, Type::kUnsigned, "selectorId"},
    {kSelectorAlgorithm, 2, Type::kUnsigned, "selectorAlgorithm"},
    {kSamplingPacketInterval, 4, Type::kUnsigned, "samplingPacketInterval"},
    {kSamplingPacketSpace, 4, Type::kUnsigned, "samplingPacketSpace"},
    {kSamplingTimeInterval, 4, Type::kUnsigned, "samplingTimeInterval"},
    {kSamplingTimeSpace, 4, Type::kUnsigned, "samplingTimeSpace"},
    {kSamplingSize, 4, Type::kUnsigned, "samplingSize"},
    {kSamplingPopulation, 4, Type::kUnsigned, "samplingPopulation"},
    {kSamplingProbability, 8, Type::kFloat, "samplingProbability"},
    {kSelectorName, 0, Type::kString, "selectorName"},
    {kLayer2PacketSectionOffset, 2, Type::kUnsigned, "layer2packetSectionOffset"},
    {kLayer2PacketSectionSize, 2, Type::kUnsigned, "layer2packetSectionSize"},
    {kLayer2PacketSectionData, 0, Type::kOctets, "layer2packetSectionData"},
    {kIpTotalLength, 8, Type::kUnsigned, "ipTotalLength"},
    {kDataLinkFrameSize, 2, Type::kUnsigned, "dataLinkFrameSize"},
    {kIpHeaderPacketSection, 0, Type::kOctets, "ipHeaderPacketSection"},
    {kDataLinkFrameSection, 0, Type::kOctets, "dataLinkFrameSection"},
    {kMplsLabelStackSection, 0, Type::kOctets, "mplsLabelStackSection"},
};

// The entry of element `id` (IANA, enterprise 0), or nullptr when ringflow
// does not know it. Linear over about 90 entries: used when a template is
// compiled, never per record.
constexpr const Info* find(uint16_t id) {
  for (const Info& i : kElements)
    if (i.id == id) return &i;
  return nullptr;
}

}  // namespace ringflow::ie
