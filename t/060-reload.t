# Reload (SIGHUP to the master): serving goes on without a failed request,
# a changed model file is picked up, and a broken one leaves the running
# configuration serving.
use FindBin;
use lib "$FindBin::Bin/inc";
use ForestT;
use Test::Nginx::Socket 'no_plan';
use POSIX ();
use Time::HiRes qw(time sleep);
use File::Copy qw(copy);

master_on();
workers(2);

our ($Sent, @Failures);

# The listening socket is open before the master has started its workers
# (and handles signals): a SIGHUP sent too early is lost.
sub wait_serving {
    my $end = time + 10;
    while (time < $end) {
        my ($r) = ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 2,
            ForestT::http_request('GET', '/v2/health/live'));
        return if $r->{code} == 200;
        sleep 0.05;
    }
    die "nginx does not answer /v2/health/live\n";
}

sub master_pid {
    wait_serving();
    open my $in, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid" or die "pid file: $!";
    chomp(my $pid = <$in>);
    return $pid;
}

# Clients keep sending requests (checking every answer) while the master
# is sent SIGHUP $hups times.
sub hup_under_load {
    my ($hups) = @_;
    my $rows = ForestT::input_rows('xgb_binary', 0, 4);
    my $req = ForestT::http_request('POST', '/v2/models/fraudp/infer', ForestT::kserve_json($rows));
    my $check = ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_binary', 'expected', 'proba', 0, 4)] });
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $rd;
        my ($n, @fail) = (0);
        my $end = time + 0.6 * $hups + 1;
        while (time < $end) {
            my @res = eval { ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 5, ($req) x 4) };
            push @fail, "client: $@" if $@;
            for my $r (@res) {
                $n++;
                my $v = $r->{code} == 200 ? $check->($r->{body}) : "status $r->{code}";
                push @fail, $v if $v ne 'OK';
            }
        }
        print $wr join("\n", $n, @fail), "\n";
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    for (1 .. $hups) {
        sleep 0.5;
        kill 'HUP', master_pid();
    }
    my @lines = <$rd>;
    waitpid($pid, 0);
    chomp @lines;
    ($Sent, @Failures) = @lines;
}

# After a reload the old workers still accept connections until they have
# handled the master's QUIT, so a request may reach one of them: wait until
# they have all exited before the test's request.
sub swap_model {
    my ($from, $wait_shape) = @_;
    copy($from, "$ENV{TEST_NGINX_SERVER_ROOT}/html/m.json") or die "copy: $!";
    my $master = master_pid();
    my @old = ForestT::workers_of($master);
    kill 'HUP', $master;
    return if !defined $wait_shape;
    my $end = time + 10;
    sleep 0.05 while time < $end && grep { kill 0, $_ } @old;
    while (time < $end) {
        my ($r) = ForestT::concurrent($ENV{TEST_NGINX_SERVER_PORT}, 2,
            ForestT::http_request('GET', '/v2/models/m'));
        return if $r->{code} == 200 && $r->{body} =~ /"shape":\s*\[\s*-1\s*,\s*$wait_shape\s*\]/;
        sleep 0.1;
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: requests during two reloads all succeed
--- http_config
    forest_model fraudp $TEST_NGINX_SHARED/models/xgb_binary.json predict_proba=on batch_delay=2ms;
--- config
    location /v2/ { forest_kserve; }
--- init
main::hup_under_load(2);
--- request
GET /v2/health/ready
--- response_body_filters eval
sub { $main::Sent > 20 && !@main::Failures ? 'OK'
      : "$main::Sent requests, " . scalar(@main::Failures) . " failed: @main::Failures[0 .. 2]" }
--- response_body: OK
--- no_error_log
[alert]
[crit]
--- timeout: 10



=== TEST 2: reload picks up a changed model file
--- user_files eval
[["m.json", ForestT::slurp("$ENV{TEST_NGINX_SHARED}/models/xgb_binary.json")]]
--- http_config
    forest_model m $TEST_NGINX_SERVER_ROOT/html/m.json;
--- config
    location /v2/ { forest_kserve; }
--- init
main::swap_model("$ENV{TEST_NGINX_SHARED}/models/xgb_reg.json", 10);
--- request eval
"POST /v2/models/m/infer\n" . ForestT::kserve_json(ForestT::input_rows('xgb_reg', 0, 5))
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_reg', 'expected', 'value', 0, 5)] })
--- response_body: OK



=== TEST 3: a broken model at reload: the old configuration keeps serving
--- user_files eval
[["m.json", ForestT::slurp("$ENV{TEST_NGINX_SHARED}/models/xgb_reg.json")]]
--- http_config
    forest_model m $TEST_NGINX_SERVER_ROOT/html/m.json;
--- config
    location /v2/ { forest_kserve; }
--- init
ForestT::spew("$ENV{TEST_NGINX_SERVER_ROOT}/html/broken.json", '{"learner": ');
main::swap_model("$ENV{TEST_NGINX_SERVER_ROOT}/html/broken.json");
Time::HiRes::sleep(1);
--- request eval
"POST /v2/models/m/infer\n" . ForestT::kserve_json(ForestT::input_rows('xgb_reg', 0, 5))
--- response_body_filters eval
ForestT::json_like({ outputs => [ForestT::kserve_output('xgb_reg', 'expected', 'value', 0, 5)] })
--- response_body: OK
--- error_log eval
qr{\[emerg\].*forest_model "m".*/html/m\.json}
