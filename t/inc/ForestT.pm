package ForestT;

# Helpers shared by the t/*.t suites; works under the real Test::Nginx and
# under t/lib's runner alike.  Load it BEFORE Test::Nginx::Socket: the real
# module reads TEST_NGINX_LOAD_MODULES and friends when it is compiled.
#
# Response checks are filters for `--- response_body_filters eval` that
# return "OK" or a description of the first difference, so a block ends with
# `--- response_body: OK`.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Socket::INET ();
use IO::Select ();
use JSON::PP ();
use Scalar::Util qw(looks_like_number blessed);
use Time::HiRes qw(time sleep);
use Exporter 'import';

our @EXPORT_OK = qw(json_like rows_json kserve_json kserve_binary concurrent
                    http_request expected_rows input_rows);

our $Root;
BEGIN {
    $Root = abs_path(dirname(__FILE__) . '/../..');
    $ENV{TEST_NGINX_FOREST_ROOT} //= $Root;
    # the reference set, always the repository's own: t/*.t name its files
    # $TEST_NGINX_SHARED/models/<file>
    $ENV{TEST_NGINX_SHARED} = "$Root/tests/reference";
    if (!defined $ENV{TEST_NGINX_LOAD_MODULES}) {
        my $so = ($ENV{FOREST_BUILD} // "$Root/build") . '/ngx_http_forest_module.so';
        $ENV{TEST_NGINX_LOAD_MODULES} = $so if -f $so;
    }
}

my $JSON = JSON::PP->new->canonical->allow_nonref;
our $HoldLastByte;

# ---- reference data from tests/reference/models ---------------------------

my %csv_cache;

# Rows of <model>.<kind>.csv as arrays (undef = missing / empty field).
sub read_csv {
    my ($model, $kind) = @_;
    my $key = "$model.$kind";
    return $csv_cache{$key} if $csv_cache{$key};
    my $path = model_dir($model) . "/$key.csv";
    open my $in, '<', $path or die "cannot open $path: $!\n";
    my $header = <$in>;
    my @rows;
    while (my $line = <$in>) {
        chomp $line;
        push @rows, [map { length $_ ? $_ + 0 : undef } split /,/, $line, -1];
    }
    close $in;
    return $csv_cache{$key} = \@rows;
}

# Reference models live in tests/reference/models (the reference set) and
# (the project's own) in tests/models and models/ (the demo's).
sub model_dir {
    my $model = shift;
    for my $dir ("$ENV{TEST_NGINX_SHARED}/models", "$ENV{TEST_NGINX_FOREST_ROOT}/tests/models",
                 "$ENV{TEST_NGINX_FOREST_ROOT}/models") {
        return $dir if -f "$dir/$model.input.csv";
    }
    die "no reference rows for model $model\n";
}

# Rows $from .. $from+$n-1 of tests/reference/rounds/<name>.<kind>.csv
# (scripts/make_rounds_reference.py: trees= and base_margin references).
sub rounds_rows {
    my ($name, $kind, $from, $n) = @_;
    my $path = "$ENV{TEST_NGINX_SHARED}/rounds/$name.$kind.csv";
    open my $in, '<', $path or die "cannot open $path: $!\n";
    my $header = <$in>;
    my @rows = map { chomp; [map { length $_ ? $_ + 0 : undef } split /,/, $_, -1] } <$in>;
    close $in;
    return [@rows[$from .. $from + $n - 1]];
}

sub input_rows    { my ($m, $from, $n) = @_; slice(read_csv($m, 'input'), $from, $n) }
sub expected_rows { my ($m, $kind, $from, $n) = @_; slice(read_csv($m, $kind), $from, $n) }

sub slice {
    my ($rows, $from, $n) = @_;
    $from //= 0;
    $n //= @$rows - $from;
    # copies: a test may edit its rows
    return [map { [@$_] } @$rows[$from .. $from + $n - 1]];
}

# %.9g round-trips float32; JSON has no NaN, so missing is null.
sub num_text { defined $_[0] ? sprintf('%.9g', $_[0]) : 'null' }

sub rows_json {
    my ($rows) = @_;
    return '[' . join(',', map { '[' . join(',', map { num_text($_) } @$_) . ']' } @$rows) . ']';
}

# KServe v2 JSON request body for input__0 [N, F].
sub kserve_json {
    my ($rows, %opt) = @_;
    my $nf = @{ $rows->[0] };
    my $data = $opt{flat}
        ? '[' . join(',', map { num_text($_) } map { @$_ } @$rows) . ']'
        : rows_json($rows);
    my $dtype = $opt{datatype} // 'FP32';
    my $body = '{' . (defined $opt{id} ? '"id":' . $JSON->encode($opt{id}) . ',' : '')
        . '"inputs":[{"name":"' . ($opt{input_name} // 'input__0') . '","shape":['
        . scalar(@$rows) . ",$nf],\"datatype\":\"$dtype\",\"data\":$data}]"
        . (defined $opt{outputs} ? ',"outputs":' . $opt{outputs} : '')
        . (defined $opt{parameters} ? ',"parameters":' . $opt{parameters} : '')
        . '}';
    return $body;
}

# Triton binary tensor extension: JSON header then raw little-endian FP32.
# Returns (body, json_length).
sub kserve_binary {
    my ($rows, %opt) = @_;
    my $nf = @{ $rows->[0] };
    my $bin = pack 'f<*', map { defined $_ ? $_ : 9**9**9 / 9**9**9 } map { @$_ } @$rows;
    $bin = pack('d<*', map { defined $_ ? $_ : 9**9**9 / 9**9**9 } map { @$_ } @$rows)
        if ($opt{datatype} // '') eq 'FP64';
    my $outputs = $opt{outputs}
        // ($opt{binary_output} ? '[{"name":"output__0","parameters":{"binary_data":true}}]' : undef);
    my $json = '{' . (defined $opt{id} ? '"id":' . $JSON->encode($opt{id}) . ',' : '')
        . '"inputs":[{"name":"input__0","shape":[' . scalar(@$rows) . ",$nf],"
        . '"datatype":"' . ($opt{datatype} // 'FP32') . '",'
        . '"parameters":{"binary_data_size":' . length($bin) . '}}]'
        . (defined $outputs ? ",\"outputs\":$outputs" : '') . '}';
    return ($json . $bin, length $json);
}

# A whole HTTP request text for `--- raw_request eval` or concurrent().
sub http_request {
    my ($method, $uri, $body, @headers) = @_;
    my $req = "$method $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $req .= "$_\r\n" for @headers;
    $req .= "Content-Length: " . length($body) . "\r\n" if defined $body;
    return "$req\r\n" . ($body // '');
}

# ---- structural JSON comparison -------------------------------------------

# Markers usable inside an expected structure.
sub any_value { bless {}, 'ForestT::Any' }
sub contains  { bless [@_], 'ForestT::Contains' }          # array holds these
sub near      { bless { v => $_[0], tol => $_[1] }, 'ForestT::Near' }
sub jstring   { bless \(my $s = $_[0]), 'ForestT::String' } # must be a JSON string

our $Tol = 1e-5;

sub num_close {
    my ($got, $want, $tol) = @_;
    return 0 if !looks_like_number($got);
    my $scale = abs($want) > 1 ? abs($want) : 1;
    return abs($got - $want) <= ($tol // $Tol) * $scale;
}

sub is_json_string {
    my $v = shift;
    require B;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return ($flags & B::SVp_POK()) && !($flags & (B::SVp_IOK() | B::SVp_NOK()));
}

# Returns undef when $got matches $want, else "path: reason".
sub diff {
    my ($got, $want, $path) = @_;
    my $show = sub { defined $_[0] ? (ref $_[0] ? $JSON->encode($_[0]) : $_[0]) : 'null' };
    if (!defined $want) {
        return defined $got ? "$path: got " . $show->($got) . ", want null" : undef;
    }
    my $wr = ref $want;
    if ($wr eq 'ForestT::Any') {
        return undef;
    }
    if ($wr eq 'Regexp') {
        return "$path: got " . $show->($got) . ", want match of $want"
            if !defined $got || ref $got || $got !~ $want;
        return undef;
    }
    if ($wr eq 'ForestT::Near') {
        return num_close($got, $want->{v}, $want->{tol}) ? undef
            : "$path: got " . $show->($got) . ", want $want->{v} +- $want->{tol}";
    }
    if ($wr eq 'ForestT::String') {
        return "$path: got " . $show->($got) . ", want the JSON string \"$$want\""
            if !defined $got || ref $got || !is_json_string($got) || $got ne $$want;
        return undef;
    }
    if ($wr eq 'ForestT::Contains') {
        return "$path: got " . $show->($got) . ", want an array" if ref $got ne 'ARRAY';
        for my $w (@$want) {
            return "$path: " . $show->($got) . " does not contain " . $show->($w)
                if !grep { !defined diff($_, $w, $path) } @$got;
        }
        return undef;
    }
    if ($wr eq 'HASH') {
        return "$path: got " . $show->($got) . ", want an object" if ref $got ne 'HASH';
        for my $k (sort keys %$want) {
            if (!exists $got->{$k}) {
                return "$path.$k: missing" if !(ref $want->{$k} eq 'ForestT::Absent');
                next;
            }
            return "$path.$k: present, want absent" if ref $want->{$k} eq 'ForestT::Absent';
            my $d = diff($got->{$k}, $want->{$k}, "$path.$k");
            return $d if defined $d;
        }
        return undef;
    }
    if ($wr eq 'ARRAY') {
        return "$path: got " . $show->($got) . ", want an array" if ref $got ne 'ARRAY';
        return "$path: got " . scalar(@$got) . " elements, want " . scalar(@$want)
            if @$got != @$want;
        for my $i (0 .. $#$want) {
            my $d = diff($got->[$i], $want->[$i], "$path\[$i]");
            return $d if defined $d;
        }
        return undef;
    }
    if (JSON::PP::is_bool($want)) {
        return (JSON::PP::is_bool($got) && !!$got == !!$want) ? undef
            : "$path: got " . $show->($got) . ", want " . ($want ? 'true' : 'false');
    }
    return "$path: got " . $show->($got) . ", want $want" if !defined $got || ref $got;
    if (looks_like_number($want) && !is_json_string($want)) {
        my $got_is_string = is_json_string($got);
        return !$got_is_string && num_close($got, $want) ? undef
            : "$path: got " . $show->($got) . ", want the number $want";
    }
    return $got eq $want ? undef : "$path: got \"$got\", want \"$want\"";
}

sub absent { bless {}, 'ForestT::Absent' }

# `--- response_body_filters eval` for a block of several requests, one
# filter per request in order.  Test::Nginx applies a flat list whole, in
# turn, to every response; a list of lists gives each request its own.
sub per_request { [map { [$_] } @_] }

# Filter: body parses as JSON and matches $want (objects: the keys listed;
# arrays: element by element; numbers within 1e-5 relative; qr// for text).
sub json_like {
    my ($want) = @_;
    return sub {
        my $body = shift;
        my $got = eval { $JSON->decode($body) };
        return "response is not JSON ($@): " . substr($body, 0, 300) if !defined $got && $@;
        my $d = diff($got, $want, '$');
        return defined $d ? "MISMATCH $d\nbody: " . substr($body, 0, 600) : 'OK';
    };
}

# Filter for a binary-extension response: JSON header (length from the body
# itself, the header value is checked by response_headers_like) followed by
# FP32 data; $check gets (header, [floats]) and returns undef or a diff.
sub binary_like {
    my ($want_header, $want_data) = @_;
    return sub {
        my $body = shift;
        my ($hdr, $len) = eval { JSON::PP->new->decode_prefix($body) };
        return "no JSON header in the response: " . substr($body, 0, 300) if !$hdr;
        my $d = diff($hdr, $want_header, '$');
        return "MISMATCH $d\nheader: " . substr($body, 0, $len) if defined $d;
        my @floats = unpack 'f<*', substr($body, $len);
        $d = diff(\@floats, $want_data, 'binary');
        return defined $d ? "MISMATCH $d" : 'OK';
    };
}

# Expected output__0 data for a model's reference rows, shaped as served with
# predict_proba=on: binary [p0, p1], multiclass [p...], regression [v].
sub served_rows {
    my ($model, $kind, $binary, $from, $n) = @_;
    my $rows = expected_rows($model, $kind // 'expected', $from, $n);
    return [map { $binary ? (1 - $_->[0], $_->[0]) : @$_ } @$rows];
}

# Rows as JSON objects keyed f0..fN-1 (the reference models' feature
# names); a missing value is left out.
sub objects_json {
    my ($rows) = @_;
    return '[' . join(',', map {
        my $r = $_;
        '{' . join(',', map { "\"f$_\":" . num_text($r->[$_]) }
                        grep { defined $r->[$_] } 0 .. $#$r) . '}'
    } @$rows) . ']';
}

# Expected "predictions" of the simple API: one value per row when the
# served output has one column, else an array per row.  $how: 'proba'
# (binary models give [1-p, p]), 'class' (p > 0.5), 'value' (as in the csv).
sub predictions {
    my ($model, $kind, $how, $from, $n) = @_;
    my $rows = expected_rows($model, $kind, $from, $n);
    return [map {
        $how eq 'class' ? (@$_ == 1 ? ($_->[0] > 0.5 ? 1 : 0) : argmax($_))
        : $how eq 'proba' && @$_ == 1 ? [1 - $_->[0], $_->[0]]
        : @$_ == 1 ? $_->[0] : [@$_]
    } @$rows];
}

sub argmax {
    my $r = shift;
    my $best = 0;
    $r->[$_] > $r->[$best] and $best = $_ for 0 .. $#$r;
    return $best;
}

# the pids of $master's workers, from /proc: after a reload, the old ones
# are those still to exit
sub workers_of {
    my ($master) = @_;
    opendir my $d, '/proc' or die "/proc: $!";
    my @pids;
    for my $pid (grep { /^\d+$/ } readdir $d) {
        open my $st, '<', "/proc/$pid/stat" or next;
        my $line = <$st> // next;
        # the command name may hold spaces: the ppid follows its ')'
        push @pids, $pid if $line =~ /\)\s+\S+\s+(\d+)/ && $1 == $master;
    }
    return @pids;
}

sub slurp {
    my $path = shift;
    open my $in, '<', $path or die "cannot open $path: $!\n";
    binmode $in;
    local $/;
    my $s = <$in>;
    close $in;
    return $s;
}

sub spew {
    my ($path, $data) = @_;
    open my $out, '>', $path or die "cannot write $path: $!\n";
    binmode $out;
    print $out $data;
    close $out;
}

# KServe response expected for output__0 of a model's reference rows.
sub kserve_output {
    my ($model, $kind, $how, $from, $n) = @_;
    my $pred = predictions($model, $kind, $how, $from, $n);
    my $cols = ref $pred->[0] ? scalar @{ $pred->[0] } : 1;
    return { name => 'output__0', datatype => 'FP32', shape => [$n, $cols],
             data => [map { ref $_ ? @$_ : $_ } @$pred] };
}

# Triton's classification extension: BYTES "value:index" strings, the top
# $k classes of each row by descending value.
sub classification_like {
    my ($model, $from, $n, $k) = @_;
    my $pred = predictions($model, 'expected', 'proba', $from, $n);
    return sub {
        my $got = eval { $JSON->decode(shift) } or return "response is not JSON";
        my $out = $got->{outputs} && $got->{outputs}[0]
            or return "no outputs in the response";
        return "datatype $out->{datatype}, want BYTES" if ($out->{datatype} // '') ne 'BYTES';
        my $d = diff($out->{shape}, [$n, $k], 'shape');
        return "MISMATCH $d" if defined $d;
        my @data = @{ $out->{data} // [] };
        return "got " . scalar(@data) . " strings, want " . $n * $k if @data != $n * $k;
        for my $r (0 .. $n - 1) {
            my $p = $pred->[$r];
            my @order = sort { $p->[$b] <=> $p->[$a] } 0 .. $#$p;
            for my $j (0 .. $k - 1) {
                my $s = $data[$r * $k + $j];
                my ($v, $idx) = $s =~ /^([-+0-9.eE]+):(\d+)(?::.*)?$/
                    or return "row $r entry $j: \"$s\" is not value:index";
                return "row $r entry $j: \"$s\", want class $order[$j] ($p->[$order[$j]])"
                    if $idx != $order[$j] || !num_close($v, $p->[$order[$j]], 1e-5);
            }
        }
        return 'OK';
    };
}

# Two filters that check that two responses carry the same output data.
my %remembered;
sub remember {
    my $key = shift;
    return sub {
        my $got = eval { $JSON->decode(shift) } or return "response is not JSON";
        $remembered{$key} = $got->{outputs}[0]{data};
        return 'OK';
    };
}
sub same_as {
    my $key = shift;
    return sub {
        my $got = eval { $JSON->decode(shift) } or return "response is not JSON";
        my $d = diff($got->{outputs}[0]{data}, $remembered{$key}, 'data');
        return defined $d ? "MISMATCH $d" : 'OK';
    };
}

# Prometheus text -> { 'name{labels}' => value }.
sub prom {
    my $text = shift;
    my %m;
    for (split /\n/, $text) {
        next if /^#/ || !/\S/;
        $m{$1} = $2 if /^(\S+(?:\{[^}]*\})?)\s+(\S+)/;
    }
    return \%m;
}

# The value of metric NAME for MODEL (version 1), undef if absent.
sub metric {
    my ($m, $name, $model) = @_;
    my ($key) = grep { /^\Q$name\E\{/ && /model="\Q$model\E"/ && /version="1"/ } keys %$m;
    return defined $key ? $m->{$key} : undef;
}

# Filter over a /metrics body: $check->(metrics hash) returns undef or why.
sub metrics_like {
    my ($check) = @_;
    return sub {
        my $body = shift;
        my $why = $check->(prom($body), $body);
        return defined $why ? "MISMATCH $why\n$body" : 'OK';
    };
}

# ---- concurrency ------------------------------------------------------------

# Sends every raw request on its own connection at once (all written before
# any is read), returns the responses as { code, body, headers } in order.
sub concurrent {
    my ($port, $timeout, @reqs) = @_;
    my @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Proto => 'tcp', Timeout => $timeout)
            or die "connect 127.0.0.1:$port: $!\n"
    } @reqs;
    # $HoldLastByte (seconds): every request but its last byte first, that
    # long to let the server read them, then the last bytes back to back, so
    # that the server completes them all at once
    my $hold = $HoldLastByte ? 1 : 0;
    for my $i (0 .. $#reqs) {
        binmode $socks[$i];
        write_all($socks[$i], substr($reqs[$i], 0, length($reqs[$i]) - $hold));
    }
    if ($hold) {
        sleep $HoldLastByte;
        write_all($socks[$_], substr($reqs[$_], -1)) for 0 .. $#reqs;
    }
    my @raw = ('') x @reqs;
    my %open = map { $_ => 1 } 0 .. $#reqs;
    my $sel = IO::Select->new(@socks);
    my $deadline = time + $timeout;
    while (%open && time < $deadline) {
        for my $s ($sel->can_read($deadline - time)) {
            my ($i) = grep { $socks[$_] == $s } keys %open;
            next if !defined $i;
            my $n = sysread($s, my $buf, 65536);
            if (!$n) {
                delete $open{$i};
                $sel->remove($s);
                close $s;
            } else {
                $raw[$i] .= $buf;
            }
        }
    }
    return map { parse_raw($_) } @raw;
}

sub write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        die "write: $!\n" if !defined $n;
        $off += $n;
    }
}

sub parse_raw {
    my $raw = shift;
    return { code => 0, body => '', headers => {} }
        if $raw !~ /\AHTTP\/\d\.\d (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n(.*)\z/s;
    my ($code, $head, $body) = ($1, $2, $3);
    my %h = map { my ($k, $v) = split /\s*:\s*/, $_, 2; (lc $k => $v) } split /\r\n/, $head;
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if !$n;
            $out .= substr($body, 0, $n, '');
            $body =~ s/\A\r\n//;
        }
        $body = $out;
    }
    return { code => $code, body => $body, headers => \%h };
}

sub decode_json { $JSON->decode($_[0]) }

1;
