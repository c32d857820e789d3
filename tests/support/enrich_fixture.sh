# Enrichment fixtures for the e2e scripts (sourced after tests/support/e2e.sh):
#
#   rf_enrich_need            rf_skip unless perl's MaxMind::DB::Writer
#                             (libmaxmind-db-writer-perl) and mmdblookup
#                             (mmdb-bin) are installed
#   rf_write_mmdb KIND TSV OUT
#                             writes an MMDB (KIND asn: TSV lines
#                             network<TAB>asn<TAB>organisation; KIND
#                             country: network<TAB>iso_code) with
#                             MaxMind::DB::Writer, an IPv6 tree holding the
#                             IPv4 networks too, as GeoLite2 files are
#
# The databases are written by Debian's MaxMind writer, not by ringflow, and
# the e2e checks read them back with Debian's mmdblookup: the truth is outside
# the code under test.

rf_enrich_need() {
  perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
    rf_skip "perl's MaxMind::DB::Writer missing (Debian libmaxmind-db-writer-perl; scripts/deps.sh --test)"
  rf_need_tool mmdblookup "Debian mmdb-bin (scripts/deps.sh --test)"
}

rf_write_mmdb() {
  local kind=$1 tsv=$2 out=$3
  perl - "$kind" "$tsv" "$out" <<'PERL' || fail "rf_write_mmdb $kind: perl failed"
use strict; use warnings; use utf8;
use MaxMind::DB::Writer::Tree;
my ($kind, $in, $out) = @ARGV;
my %types = (autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string',
  country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 28,
  database_type => $kind eq 'asn' ? 'GeoLite2-ASN' : 'GeoLite2-Country',
  languages => ['en'], description => {en => 'ringflow e2e'},
  map_key_type_callback => sub { $types{$_[0]} }, remove_reserved_networks => 0);
open my $fh, '<:encoding(UTF-8)', $in or die "$in: $!";
while (my $line = <$fh>) {
  chomp $line;
  my @f = split /\t/, $line, -1;
  if ($kind eq 'asn') {
    $tree->insert_network($f[0], {autonomous_system_number => $f[1] + 0,
                                  autonomous_system_organization => $f[2]});
  } else {
    $tree->insert_network($f[0], {country => {iso_code => $f[1]}});
  }
}
open my $o, '>:raw', $out or die "$out: $!";
$tree->write_tree($o);
close $o or die;
PERL
}
