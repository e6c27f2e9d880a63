package Test::Nginx::Socket;

# A small Test::Nginx::Socket-compatible runner, used only where the real
# Test::Nginx (openresty/test-nginx, not packaged in Debian) is absent:
# tests/suite_t.sh adds `-I t/lib` only when TEST_NGINX_LIB names none and
# `perl -MTest::Nginx::Socket` fails.  It implements the subset of sections
# and functions our t/*.t use, with the real module's semantics, so that a
# t/*.t file passes under both; two of them matter most (tests/t_real.sh
# runs t/ under the real one):
# - response_body_filters: a flat list applies whole to every response of
#   a block; a list of lists ([[f1], [f2]]) gives each request its own;
# - error_log, no_error_log, grep_error_log: checked after every request of
#   a block against the lines logged since the previous check, or against
#   the whole log with TEST_NGINX_CHECK_ACCUM_ERR_LOG=1 or
#   check_accum_error_log().
#
# Every sub carries a prototype: Spiffy's -Base filter would otherwise give
# it an implicit `my $self = shift`.

use Test::Base -Base;

use POSIX qw(SIGQUIT SIGKILL WNOHANG);
use Time::HiRes qw(sleep time);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use IO::Select ();
use Scalar::Util qw(looks_like_number);
use List::Util qw(shuffle);

our $VERSION = '0.01-ngx_forest';

our @EXPORT = qw(
    plan run_tests run_test repeat_each no_shuffle master_on master_off
    workers log_level timeout no_long_string no_root_location
    server_port server_root html_dir env_to_nginx config_preamble
    worker_connections master_process_enabled add_block_preprocessor
    check_accum_error_log
    $ServerPort $ServRoot $ServerPortForClient $ServerAddr
);

our $NginxBinary  = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $RepeatEach   = 1;
our $NoShuffle    = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $Workers      = 1;
our $WorkerConnections = 64;
our $LogLevel     = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $Timeout      = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $UseValgrind  = $ENV{TEST_NGINX_USE_VALGRIND};
our $LdPreload    = $ENV{TEST_NGINX_LD_PRELOAD};
our $Verbose      = $ENV{TEST_NGINX_VERBOSE};
our $Randomize    = $ENV{TEST_NGINX_RANDOMIZE};
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $NoRootLocation = 0;
our $ConfigPreamble = '';
our $ServerAddr   = '127.0.0.1';
our @EnvToNginx;
our @BlockPreprocessors;

sub gen_rand_port ($) {
    my $used = shift;
    for (1 .. 1000) {
        my $port = 1985 + int rand 60000;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
            LocalPort => $port, Proto => 'tcp', ReuseAddr => 1);
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    Test::More::BAIL_OUT("cannot find a free TCP port");
}

# Parallel prove jobs start within the same millisecond with neighbouring
# pids, and pid ^ time then often gives them the same seed, so the same
# "random" port (seen in CI): seed from the kernel instead.
sub seed () {
    if (open my $r, '<:raw', '/dev/urandom') {
        my $n = read $r, my $bytes, 4;
        close $r;
        return unpack 'L', $bytes if $n == 4;
    }
    return ($$ * 2654435761 + int(time * 1e6)) % 4294967296;
}
srand(seed());

# A randomised run's port is reserved by creating its servroot (mkdir is
# atomic): another job that drew the same port draws again.
sub reserve_server_port () {
    for (1 .. 100) {
        my $port = gen_rand_port({});
        return $port if mkdir File::Spec->rel2abs("t/servroot_$port");
    }
    Test::More::BAIL_OUT("cannot reserve a servroot for a free TCP port");
}

our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
$ServerPort = reserve_server_port() if $Randomize;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot'));
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $StderrFile = "$LogDir/nginx-stderr.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

our $ChildPid;        # nginx run in the foreground (valgrind)
our $PrevConfig;
our $ErrLogPos = 0;

# ---- configuration functions --------------------------------------------

sub repeat_each (@) { $RepeatEach = shift if @_; return $RepeatEach }
sub no_shuffle () { $NoShuffle = 1 }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub master_process_enabled (@) {
    $MasterProcessEnabled = $_[0] ? 'on' : 'off' if @_;
    return $MasterProcessEnabled;
}
sub workers (@) { $Workers = shift if @_; return $Workers }
sub worker_connections (@) { $WorkerConnections = shift if @_; return $WorkerConnections }
sub log_level (@) { $LogLevel = shift if @_; return $LogLevel }
sub timeout (@) { $Timeout = shift if @_; return $Timeout }
sub no_long_string () { 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub server_port (@) { $ServerPort = shift if @_; return $ServerPort }
sub server_root () { $ServRoot }
sub html_dir () { $HtmlDir }
sub config_preamble ($) { $ConfigPreamble = shift }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }

sub env_to_nginx (@) {
    for my $v (@_) {
        die "env_to_nginx: bad argument: $v\n" if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    stop_nginx();
    Test::More::BAIL_OUT(join '', @_);
}

sub parse_time ($) {
    my $t = shift;
    return undef if !defined $t;
    $t =~ s/^\s+|\s+$//g;
    return $1 / 1000 if $t =~ /^([\d.]+)ms$/;
    $t =~ s/s$//;
    return $t;
}

# $TEST_NGINX_FOO -> $ENV{TEST_NGINX_FOO}; a missing variable is fatal, as in
# the real module.  $TEST_NGINX_RAND_PORT_N gets a free port per block.
sub expand_env ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef if !defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $rand_ports->{$var} //= gen_rand_port({ $ServerPort => 1,
                map { $_ => 1 } values %$rand_ports });
        } else {
            bail_out("$name - No environment $var defined.\n")
                if !defined $ENV{$var};
            $ENV{$var};
        }
    }ge;
    return $text;
}

# ---- servroot and nginx.conf --------------------------------------------

sub setup_server_root () {
    if (-d $ServRoot) {
        # only our own subdirectories: TEST_NGINX_SERVROOT may be misused
        remove_tree($ConfDir, $HtmlDir, $LogDir, glob("$ServRoot/*_temp"));
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    open my $out, '>', "$HtmlDir/index.html" or bail_out("$HtmlDir: $!");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $files = $block->user_files;
    return if !defined $files;
    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, '', $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    }
    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        (my $dir = $path) =~ s{/[^/]*$}{};
        make_path($dir) if !-d $dir;
        $body = expand_env($body // '', $block->name, $rand_ports);
        open my $out, '>', $path or bail_out($block->name, " - cannot write $path: $!");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("cannot touch $path");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;
    my $main_config = $block->main_config // '';
    if ($ENV{TEST_NGINX_LOAD_MODULES}) {
        $main_config .= join ' ', map { "load_module $_;" }
            grep { length } split /\s+/, $ENV{TEST_NGINX_LOAD_MODULES};
    }
    $main_config = expand_env($main_config, $name, $rand_ports);
    my $http_config = expand_env($block->http_config // '', $name, $rand_ports);
    my $post_main = expand_env($block->post_main_config // '', $name, $rand_ports);
    my $daemon = $UseValgrind ? 'off' : 'on';
    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" }
        qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS UBSAN_OPTIONS), @EnvToNginx;
    my $user = $> == 0 ? "user root;\n" : '';
    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    # The packaged nginx has absolute compiled-in temp paths
    # (/var/lib/nginx/...): every one of them is moved into the servroot.
    my $temps = join '', map { "    ${_}_temp_path $ServRoot/${_}_temp;\n" }
        qw(client_body proxy fastcgi uwsgi scgi);

    open my $out, '>', $ConfFile or bail_out("cannot write $ConfFile: $!");
    print $out <<"_EOC_";
worker_processes  $Workers;
daemon $daemon;
master_process $MasterProcessEnabled;
error_log $ErrLogFile $LogLevel;
pid       $PidFile;
$env$user
$main_config

http {
    access_log $LogDir/access.log;

    default_type text/plain;
    keepalive_timeout  68;
$temps
$http_config

    server {
        listen          $ServerAddr:$ServerPort;
        server_name     'localhost';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
}
_EOC_
    close $out;
}

# ---- nginx process control ----------------------------------------------

sub pid_alive ($) {
    my $pid = shift;
    return 0 if !$pid || !kill(0, $pid);
    # a daemonised nginx is not our child: a zombie left unreaped by init
    # still answers kill 0
    if (open my $st, '<', "/proc/$pid/stat") {
        my $line = <$st>;
        return 0 if defined $line && $line =~ /^\d+ \(.*\) Z/;
    }
    return 1;
}

sub read_pid () {
    open my $in, '<', $PidFile or return undef;
    my $pid = <$in>;
    close $in;
    return undef if !defined $pid;
    chomp $pid;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub wait_gone ($$) {
    my ($pid, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        waitpid($pid, WNOHANG) if defined $ChildPid && $pid == $ChildPid;
        return 1 if !pid_alive($pid);
        sleep 0.01;
    }
    return 0;
}

sub stop_nginx () {
    my $pid = $ChildPid // read_pid();
    if ($pid && pid_alive($pid)) {
        kill SIGQUIT, $pid;
        if (!wait_gone($pid, $Timeout + ($UseValgrind ? 10 : 0))) {
            warn "WARNING: nginx $pid did not quit in time; killing it\n";
            kill SIGKILL, $pid;
            wait_gone($pid, 2);
        }
    }
    waitpid($ChildPid, 0) if defined $ChildPid;
    undef $ChildPid;
    unlink $PidFile;
}

sub nginx_command () {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    if ($UseValgrind) {
        my @opts = $UseValgrind =~ /^\d+$/
            ? ('--tool=memcheck', '--leak-check=full', '--show-possibly-lost=no',
               (-f 'valgrind.suppress' ? '--suppressions=valgrind.suppress' : ()))
            : split ' ', $UseValgrind;
        unshift @cmd, 'valgrind', '-q', '--num-callers=100', @opts;
    }
    return @cmd;
}

# Runs nginx; returns its exit status (daemon mode, or $wait: a block
# whose nginx must die) or 0 once the child runs.
sub spawn_nginx ($) {
    my $wait = shift;
    my @cmd = nginx_command();
    warn "command: @cmd\n" if $Verbose;
    my $pid = fork;
    bail_out("fork failed: $!") if !defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $StderrFile;
        $ENV{LD_PRELOAD} = $LdPreload if $LdPreload;
        exec @cmd or exit 127;
    }
    if ($UseValgrind && !$wait) {
        $ChildPid = $pid;
        return 0;
    }
    waitpid($pid, 0);
    return $?;
}

sub wait_for_port ($) {
    my $secs = shift;
    my $deadline = time + $secs;
    while (time < $deadline) {
        my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
            PeerPort => $ServerPortForClient, Proto => 'tcp', Timeout => 1);
        if ($sock) {
            close $sock;
            return 1;
        }
        return 0 if defined $ChildPid && waitpid($ChildPid, WNOHANG) == $ChildPid;
        sleep 0.01;
    }
    return 0;
}

sub slurp ($) {
    my $f = shift;
    open my $in, '<', $f or return '';
    binmode $in;
    local $/;
    my $s = <$in>;
    close $in;
    return $s // '';
}

# ---- requests -----------------------------------------------------------

sub build_request ($$) {
    my ($block, $req) = @_;
    my $more = $block->more_headers // '';
    $more = expand_env($more, $block->name, {});
    $req =~ s/^(?:\s*#[^\n]*\n)+//s;       # leading comment lines
    $req =~ s/^\s+//;
    my ($first, $body) = split /\n/, $req, 2;
    $first =~ s/\s+$//;
    $body //= '';
    my ($meth, $uri, $ver) = split ' ', $first;
    $uri //= '/';
    $ver //= 'HTTP/1.1';
    my $head = "$meth $uri $ver\r\n";
    $head .= "Host: localhost\r\n" if $more !~ /^Host\s*:/mi;
    $head .= "Connection: close\r\n" if $more !~ /^Connection\s*:/mi;
    for my $line (split /\n/, $more) {
        next if $line !~ /\S/;
        $head .= "$line\r\n";
    }
    if ($more !~ /^(?:Content-Length|Transfer-Encoding)\s*:/mi && length $body) {
        # as the real module does: the body loses its surrounding white
        # space (binary bodies belong in --- raw_request)
        $body =~ s/^\s+|\s+$//gs;
        $head .= "Content-Length: " . length($body) . "\r\n";
    }
    return "$head\r\n$body";
}

# Sends raw bytes, reads until the peer closes; returns (data, timed_out).
sub send_raw ($$) {
    my ($data, $timeout) = @_;
    my $sock;
    for (1 .. 10) {
        $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
            PeerPort => $ServerPortForClient, Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        sleep 0.05;
    }
    return ('', 0, "cannot connect to $ServerAddr:$ServerPortForClient: $!") if !$sock;
    binmode $sock;
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my ($off, $resp) = (0, '');
    my $deadline = time + $timeout;
    while (1) {
        my $left = $deadline - time;
        return ($resp, 1) if $left <= 0;
        if ($off < length $data) {
            my (undef, $w) = IO::Select::select($sel, $sel, undef, $left);
            if ($w && @$w) {
                my $n = syswrite($sock, $data, length($data) - $off, $off);
                $off += $n if defined $n;
                # the server may answer (413, 400) before reading everything
                $off = length $data if !defined $n && !$!{EAGAIN};
            }
        } else {
            next if !$sel->can_read($left);
        }
        my $n = sysread($sock, my $buf, 65536);
        if (defined $n) {
            last if $n == 0;
            $resp .= $buf;
        } elsif (!$!{EAGAIN}) {
            last;
        }
    }
    close $sock;
    return ($resp, 0);
}

# Parses one response off the front of $$raw; undef if none is there.
sub parse_response ($) {
    my $raw = shift;
    return undef if $$raw !~ /\A(HTTP\/\d\.\d)\s+(\d{3})([^\r\n]*)\r\n(.*?)\r\n\r\n/s;
    my %res = (code => $2, status_line => "$2$3", headers => {});
    my $hlen = length $&;
    for my $h (split /\r\n/, $4) {
        my ($k, $v) = split /\s*:\s*/, $h, 2;
        my $lk = lc $k;
        $res{headers}{$lk} = exists $res{headers}{$lk}
            ? "$res{headers}{$lk}, $v" : $v;
    }
    substr($$raw, 0, $hlen) = '';
    my $te = $res{headers}{'transfer-encoding'} // '';
    my $len = $res{headers}{'content-length'};
    if ($te =~ /chunked/i) {
        my $body = '';
        while ($$raw =~ s/\A([0-9A-Fa-f]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            if ($n == 0) {
                $$raw =~ s/\A(?:[^\r\n]+\r\n)*\r\n//;
                last;
            }
            $body .= substr($$raw, 0, $n);
            substr($$raw, 0, $n + 2) = '';
        }
        $res{body} = $body;
    } elsif (defined $len) {
        $res{body} = substr($$raw, 0, $len);
        $res{truncated} = length($$raw) < $len;
        substr($$raw, 0, $len < length $$raw ? $len : length $$raw) = '';
    } else {
        $res{body} = $$raw;
        $$raw = '';
    }
    return \%res;
}

sub indexed ($$) {
    my ($v, $i) = @_;
    return ref $v eq 'ARRAY' ? $v->[$i] : $v;
}

# The filters for the response to request $i, as the real module picks them.
sub response_filters ($$) {
    my ($block, $i) = @_;
    my $f = $block->response_body_filters;
    return () if !defined $f;
    return split ' ', $f if !ref $f;
    return ($f) if ref $f ne 'ARRAY';
    return @$f if ref $f->[0] ne 'ARRAY';
    my $name = $block->name;
    bail_out("$name - response_body_filters: a list of lists must hold lists only")
        if grep { ref $_ ne 'ARRAY' } @$f;
    bail_out("$name - response_body_filters: no list for request $i") if !$f->[$i];
    return @{ $f->[$i] };
}

my %BuiltinFilter = (
    uc => sub { uc shift }, lc => sub { lc shift },
    ucfirst => sub { ucfirst shift }, lcfirst => sub { lcfirst shift },
    length => sub { length shift },
    md5_hex => sub { require Digest::MD5; Digest::MD5::md5_hex(shift) },
    sha1_hex => sub { require Digest::SHA; Digest::SHA::sha1_hex(shift) },
);

sub apply_body_filters ($$$) {
    my ($block, $i, $body) = @_;
    for my $f (response_filters($block, $i)) {
        my $code = ref $f eq 'CODE' ? $f : $BuiltinFilter{$f}
            or bail_out($block->name, " - unknown response_body_filters entry: $f");
        $body = $code->($body);
    }
    return $body;
}

sub is_str ($$$) {
    my ($got, $want, $desc) = @_;
    return like($got, $want, $desc) if ref $want eq 'Regexp';
    my $ok = Test::More::is($got, $want, $desc);
    if (!$ok && defined $got && defined $want && ($got =~ /\n/ || $want =~ /\n/)) {
        require Text::Diff;
        diag(Text::Diff::diff(\$want, \$got, { STYLE => 'Unified' }));
    }
    return $ok;
}

sub check_response ($$$) {
    my ($block, $res, $i) = @_;
    my $name = $block->name;

    my $code = indexed($block->error_code, $i);
    if (defined $code) {
        $code =~ s/^\s+|\s+$//g;
    } else {
        $code = 200;
    }
    is_str($res->{code} // '', $code, "$name - status code ok");

    # as in the real module, response_headers_like is not looked at in a
    # block with response_headers
    if (defined(my $h = indexed($block->response_headers, $i))) {
        for my $line (grep { /\S/ } split /\n/, $h) {
            $line =~ s/^\s+|\s+$//g;
            if ($line =~ s/^!\s*//) {
                ok(!defined $res->{headers}{lc $line}, "$name - header $line not present");
            } else {
                my ($k, $v) = split /\s*:\s*/, $line, 2;
                $v //= '';
                $v =~ s/\$ServerPort\b/$ServerPort/g;
                $v =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
                is_str($res->{headers}{lc $k} // '', $v, "$name - header $k ok");
            }
        }
    } elsif (defined(my $like = indexed($block->response_headers_like, $i))) {
        for my $line (grep { /\S/ } split /\n/, $like) {
            $line =~ s/^\s+|\s+$//g;
            my ($k, $v) = split /\s*:\s*/, $line, 2;
            like($res->{headers}{lc $k} // '', qr/^$v$/, "$name - header $k like ok");
        }
    }

    my $body = apply_body_filters($block, $i, $res->{body} // '');
    if (defined(my $want = indexed($block->response_body, $i))) {
        $want =~ s/\$ServerPort\b/$ServerPort/g if !ref $want;
        is_str($body, $want, "$name - response_body - response is expected");
    } elsif (defined(my $pat = indexed($block->response_body_like, $i))) {
        $pat =~ s/\$ServerPort\b/$ServerPort/g if !ref $pat;
        (my $summary = $body) =~ s/\s+/ /g;
        $summary = substr($summary, 0, 200);
        like($body, ref $pat ? $pat : qr/$pat/s,
             "$name - response_body_like - response is expected ($summary)");
    }
    if (defined(my $pat = indexed($block->response_body_unlike, $i))) {
        unlike($body, ref $pat ? $pat : qr/$pat/s, "$name - response_body_unlike");
    }
}

# ---- error log ----------------------------------------------------------

# The error.log lines written since the previous call (all of them under
# TEST_NGINX_CHECK_ACCUM_ERR_LOG), then with $with_stderr nginx's stderr.
sub error_log_lines ($) {
    my $with_stderr = shift;
    sleep 0.045;     # log-phase lines are written after the connection closes
    my $log = slurp($ErrLogFile);
    my $from = $CheckAccumErrLog || $ErrLogPos > length $log ? 0 : $ErrLogPos;
    $ErrLogPos = length $log;
    my $new = substr($log, $from);
    $new .= slurp($StderrFile) if $with_stderr;
    return [split /^/, $new];
}

sub patterns ($) {
    my $v = shift;
    return [] if !defined $v;
    return [@$v] if ref $v eq 'ARRAY';
    return [$v] if ref $v;
    return [grep { length } split /\n+/, $v];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

# Run after every request of a block (repeat $r of repeat_each): array
# values of grep_error_log and grep_error_log_out are indexed by $r.
sub check_error_log ($$$) {
    my ($block, $r, $with_stderr) = @_;
    my $name = $block->name;
    my $lines = error_log_lines($with_stderr);

    for my $pat (@{ patterns($block->error_log) }) {
        my $hit = grep { line_matches($_, $pat) } @$lines;
        ok($hit, "$name - pattern \"$pat\" matches a line in error.log (req $r)");
    }
    for my $pat (@{ patterns($block->no_error_log) }) {
        my ($hit) = grep { line_matches($_, $pat) } @$lines;
        ok(!$hit, "$name - pattern \"$pat\" does not match a line in error.log (req $r)")
            or diag("matched: $hit");
    }
    my ($pat, $want) = map { indexed($_, $r) } $block->grep_error_log, $block->grep_error_log_out;
    bail_out("$name - --- grep_error_log and --- grep_error_log_out go together")
        if defined $pat != defined $want;
    if (defined $pat) {
        # the first match in each line, as the real module does; a match
        # that spans lines (a pattern ending in \n, say) does not count
        my $out = '';
        for my $line (@$lines) {
            next if !(ref $pat ? $line =~ $pat : $line =~ /\Q$pat\E/);
            $out .= "$&\n" if $& !~ /\n/;
        }
        $want = expand_env($want, $name, {}) if !ref $want;
        is_str($out, $want, "$name - grep_error_log_out (req $r)");
    }
    # like the real module: [alert], [crit] and [emerg] lines warn unless a
    # pattern of the block (as text: qr/\[alert\]/ counts) names the level
    my $checked = join "\n", map { "$_" } @{ patterns($block->error_log) },
        @{ patterns($block->no_error_log) };
    for my $level (qw(alert crit emerg)) {
        next if index($checked, "[$level") >= 0;
        for my $line (grep { /\[$level\]/ } @$lines) {
            warn "WARNING: $name - $line";
        }
    }
}

sub check_sanitizer_output ($) {
    my $name = shift;
    my $err = slurp($StderrFile);
    # valgrind runs with -q: any line of its own is a report
    if ($err =~ /ERROR: (?:Address|Leak|Thread)Sanitizer|runtime error:/
        || ($UseValgrind && $err =~ /^==\d+== \S/m))
    {
        fail("$name - nginx stderr has no sanitizer/valgrind report");
        diag($err);
    }
}

# ---- skipping -----------------------------------------------------------

sub nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    bail_out("cannot run $NginxBinary -V: $out") if $? != 0;
    return $out =~ m{nginx/(\d+)\.(\d+)\.(\d+)} ? sprintf("%d.%03d%03d", $1, $2, $3) : undef;
}

our $NginxVersion;

sub skip_count ($) {
    my $block = shift;
    if (defined(my $s = $block->skip_nginx)) {
        $s =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$}
            or bail_out($block->name, " - invalid --- skip_nginx spec: $s");
        my ($n, $op, $reason) = ($1, $2, $6);
        my $ver = sprintf "%d.%03d%03d", $3, $4, $5;
        return ($n, $reason || "nginx version $op $3.$4.$5")
            if eval "$NginxVersion $op $ver";
    }
    if (defined(my $s = $block->skip_eval)) {
        $s =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out($block->name, " - invalid --- skip_eval spec: $s");
        my ($n, $code) = ($1, $2);
        my $skip = eval $code;
        bail_out($block->name, " - skip_eval failed: $@") if $@;
        return ($n, 'skip_eval') if $skip;
    }
    return;
}

# ---- driver -------------------------------------------------------------

sub start_block_nginx ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $must_die = $block->must_die;
    my $tries = 0;
  AGAIN:
    unlink $StderrFile;
    # the real Test::Nginx runs a must_die block without valgrind; here it
    # stays under valgrind, so the configuration's error paths are checked
    my $status = spawn_nginx(defined $must_die);
    if (defined $must_die) {
        if (looks_like_number($must_die)) {
            is($status >> 8, $must_die, "$name - die with the expected exit code");
        } else {
            isnt($status, 0, "$name - die as expected");
        }
        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it\n";
            wait_for_port($Timeout);
            stop_nginx();
        }
        return 0;
    }
    if ($status != 0) {
        my $err = slurp($StderrFile);
        if ($err =~ /Address already in use/ && ++$tries < 20) {
            sleep 0.2;
            goto AGAIN;
        }
        fail("$name - nginx starts (status $status)");
        diag($err);
        return 0;
    }
    if (!wait_for_port($UseValgrind ? 30 : 10)) {
        fail("$name - nginx listens on $ServerAddr:$ServerPort");
        diag(slurp($StderrFile));
        stop_nginx();
        return 0;
    }
    return 1;
}

# After every response of a block, as the real module does: the block's
# wait, then its error log checks against what was logged meanwhile.
sub after_response ($$) {
    my ($block, $r) = @_;
    if (defined(my $w = parse_time($block->wait))) {
        sleep $w;
    }
    check_error_log($block, $r, 0);
}

# Sends the block's requests (repeat $r of repeat_each) and checks the
# responses; the error log after the last one is the caller's to check.
sub run_requests ($$) {
    my ($block, $r) = @_;
    my $name = $block->name;
    my $timeout = parse_time($block->timeout) || $Timeout;

    if (defined(my $raw = $block->raw_request)) {
        my @bits = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        my ($resp, $to) = send_raw(join('', @bits), $timeout);
        fail("$name - timeout waiting for the response") if $to;
        my $res = parse_response(\$resp) || { code => '', headers => {}, body => '' };
        check_response($block, $res, 0);
        return;
    }

    my $pipelined = $block->pipelined_requests;
    if (defined $pipelined) {
        my @reqs = ref $pipelined eq 'ARRAY' ? @$pipelined : ($pipelined);
        my $data = '';
        for my $j (0 .. $#reqs) {
            my $r = build_request($block, $reqs[$j]);
            $r =~ s/^Connection: close\r\n/Connection: keep-alive\r\n/m if $j < $#reqs;
            $data .= $r;
        }
        my ($resp, $to) = send_raw($data, $timeout);
        fail("$name - timeout waiting for the responses") if $to;
        for my $j (0 .. $#reqs) {
            after_response($block, $r) if $j > 0;
            my $res = parse_response(\$resp) || { code => '', headers => {}, body => '' };
            check_response($block, $res, $j);
        }
        return;
    }

    my $request = $block->request;
    bail_out("$name - no --- request section") if !defined $request;
    my @reqs = ref $request eq 'ARRAY' ? @$request : ($request);
    for my $j (0 .. $#reqs) {
        after_response($block, $r) if $j > 0;
        my ($resp, $to, $err) = send_raw(build_request($block, $reqs[$j]), $timeout);
        if ($err) {
            fail("$name - request sent: $err");
            next;
        }
        fail("$name - timeout waiting for the response (req $j)") if $to;
        my $res = parse_response(\$resp);
        if (!$res) {
            fail("$name - a valid HTTP response (req $j)");
            diag("raw response: " . substr($resp, 0, 300));
            $res = { code => '', headers => {}, body => '' };
        } elsif ($res->{truncated} && !$block->ignore_response) {
            fail("$name - response body truncated (req $j)");
        }
        check_response($block, $res, $j);
    }
}

sub run_test ($) {
    my $block = shift;
    my $name = $block->name;

    if (my ($n, $reason) = skip_count($block)) {
        SKIP: { Test::More::skip("$name - $reason", $n) }
        return;
    }

    my $rand_ports = {};
    my $config = $block->config;
    $config = $PrevConfig if !defined $config;
    bail_out("$name - No '--- config' section specified and no previous one")
        if !defined $config;
    $PrevConfig = $config;
    $config = expand_env($config, $name, $rand_ports);

    local $LogLevel = $block->log_level // $LogLevel;
    chomp $LogLevel;

    stop_nginx();
    setup_server_root();
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);
    $ErrLogPos = 0;

    if (defined $block->must_die) {
        for my $r (0 .. $RepeatEach - 1) {
            start_block_nginx($block, $rand_ports);
            check_error_log($block, $r, 1);
            $ErrLogPos = 0;
        }
        return;
    }

    return if !start_block_nginx($block, $rand_ports);

    if (defined(my $init = $block->init)) {
        ref $init eq 'CODE' ? $init->() : eval $init;
        bail_out("$name - init failed: $@") if $@;
    }

    for my $r (0 .. $RepeatEach - 1) {
        run_requests($block, $r);
        after_response($block, $r);
    }
}

sub run_tests () {
    $NginxVersion = nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
    $ENV{TEST_NGINX_PORT} //= $ServerPort;
    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks if !$NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        # stopped here rather than at the next block so that reports written
        # at exit (ASan, valgrind) belong to this block
        stop_nginx();
        check_sanitizer_output($block->name);
    }
}

# a test's forked helper that exits must not stop the test's nginx
our $MainPid = $$;

END {
    # like the real module: a randomised servroot is removed afterwards
    if ($$ == $MainPid && $Randomize && defined $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
        stop_nginx();
        remove_tree($ServRoot) if !$ENV{TEST_NGINX_NO_CLEAN};
    }
}

1;
