#!/bin/sh
# TEST_NGINX_BINARY for the real Test::Nginx (see tests/suite_t.sh): the
# packaged nginx, with its startup error log in <prefix>/logs/error.log.
exec "${TEST_NGINX_REAL_BINARY:-/usr/sbin/nginx}" -e logs/error.log "$@"
