# tshark's sFlow decoding as lines, for tests/gen_tshark_test.sh: one line per
# sample of every frame in `tshark -T json --no-duplicate-keys` output,
# tab-separated, every value as tshark dissected it:
#   F agent sub_agent datagram_seq sample_seq rate pool drops input
#     src dst sport dport proto length
#   C agent sub_agent datagram_seq sample_seq ifindex in_octets in_packets
# The flow key and length come from the raw packet header record (its first
# IP header; ICMP as type << 8 | code in dport; length = the record's
# frame_length), else from
# the sampled IPv4/IPv6 record (length = its IP packet length).
def one: if type == "array" then .[-1] else . end;
# The first value of field k under the object, in dissection order: the
# packet's own, not one quoted inside an ICMP error.
def deep(k): [.. | objects | .[k]? // empty | if type == "array" then .[] else . end] | first;
.[] | ._source.layers.sflow as $s
| (($s["sflow_245.agent"] // $s["sflow_245.agent.v6"]) | one) as $agent
| ($s["sflow_245.sub_agent_id"] | one) as $sub
| ($s["sflow_245.sequence_number"] | one) as $seq
| ($s | [.. | objects | select(has("sflow.flow_sample.sampling_rate"))] | .[]
   | . as $f
   | ($f["Raw packet header"] // {}) as $h
   | (($f["IPv4 data"] // $f["IPv6 data"]) // {}) as $ip
   | (if ($h | length) > 0 then
        ($h | deep("ip.proto") // deep("ipv6.nxt")) as $p
        | [($h | deep("ip.src") // deep("ipv6.src")), ($h | deep("ip.dst") // deep("ipv6.dst")),
           (if $p == "6" then $h | deep("tcp.srcport") elif $p == "17" then $h | deep("udp.srcport")
            else "0" end),
           (if $p == "6" then $h | deep("tcp.dstport") elif $p == "17" then $h | deep("udp.dstport")
            else ($h | (deep("icmp.type") // deep("icmpv6.type") | tonumber) * 256
                       + (deep("icmp.code") // deep("icmpv6.code") | tonumber) | tostring) end),
           $p, ($h["sflow_245.header.frame_length"] | one)]
      else
        [($ip["sflow_245.ipv4_src"] // $ip["sflow_245.ipv6_src"]), ($ip["sflow_245.ipv4_dst"] // $ip["sflow_245.ipv6_dst"]),
         $ip["sflow_245.ip.source_port"], $ip["sflow.ip.destination_port"], $ip["sflow.ip_protocol"],
         $ip["sflow_245.ip.length"]]
      end) as $k
   | ["F", $agent, $sub, $seq, ($f["sflow.flow_sample.sequence_number"] | one),
      ($f["sflow.flow_sample.sampling_rate"] | one), ($f["sflow.flow_sample.sample_pool"] | one),
      ($f["sflow.flow_sample.dropped_packets"] | one),
      (($f["sflow.flow_sample.input_interface"] // $f["sflow.flow_sample.input_interface_value"]) | one)]
     + $k),
  ($s | [.. | objects | select(has("sflow.counters_sample.sequence_number"))] | .[]
   | ["C", $agent, $sub, $seq, (.["sflow.counters_sample.sequence_number"] | one),
      deep("sflow_245.ifindex"), deep("sflow_245.ifinoct"), deep("sflow_245.ifinpkt")])
| @tsv
